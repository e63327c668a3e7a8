//! Red Star OS 3.0 file watermarks.
//!
//! Red Star OS appends to media files it sees (JPEG, PNG, AVI, MP3, ... even on a
//! removable stick, even when the file is never opened) a chain of 24-byte blocks.
//! Each block is the hard-disk serial number of one machine the file passed
//! through, NUL-padded to 24 bytes and encrypted with DES in ECB mode under the
//! fixed key `07 06 05 04 03 02 01 00`. The blocks are followed by their total
//! length as a 4-byte little-endian integer and the ASCII bytes `EOF`. Each further
//! machine appends one more block and rewrites the length, so a file that passed
//! three machines ends in `B1 B2 B3 len=72 "EOF"`.
//!
//! In DOCX files the mark sits in the extra field (header id `0xA220`) of the first
//! ZIP local file header instead; [`parse_blocks`] decodes that payload too.
//!
//! Source: Florian Grunow and Niklaus Schiess, "Lifting the Fog on Red Star OS",
//! 32C3 (2015). exiftool shows such a trailer only with `-v3`, and the `img-parts`
//! crate keeps it when rewriting, which is why baram parses it itself.
//!
//! A mark identifies every machine a file went through: for a drop it names the
//! builder's supply chain, for material carried out it names the source. Callers
//! must treat the decrypted serials as analyst-only.

use des::Des;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use serde::Serialize;

/// The fixed DES key Red Star OS uses.
pub const KEY: [u8; 8] = [7, 6, 5, 4, 3, 2, 1, 0];
/// Size of one block of the chain: one machine's disk serial.
pub const BLOCK_LEN: usize = 24;
/// Bytes after the blocks: 4-byte little-endian length and `EOF`.
pub const FOOTER_LEN: usize = 7;

/// A Red Star watermark found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedStarMark {
    /// Byte offset of the first block in the file (or in the ZIP extra field).
    pub offset: u64,
    /// Number of 24-byte blocks: machines the file passed through.
    pub blocks: usize,
    /// The decrypted disk serials, oldest first. Non-printable bytes are shown
    /// as `\xNN`. Analyst-only: these identify machines and so people.
    pub serials: Vec<String>,
}

fn cipher() -> Des {
    Des::new_from_slice(&KEY).expect("8-byte DES key")
}

/// Decrypts one 24-byte block into the serial it carries.
fn decrypt_block(block: &[u8]) -> String {
    let c = cipher();
    let mut plain = [0u8; BLOCK_LEN];
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let mut b = des::cipher::Array::<u8, _>::default();
        b.copy_from_slice(chunk);
        c.decrypt_block(&mut b);
        plain[i * 8..i * 8 + 8].copy_from_slice(&b);
    }
    let end = plain.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let mut s = String::new();
    for &b in &plain[..end] {
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Decodes a run of whole 24-byte blocks (the payload without footer).
pub fn parse_blocks(payload: &[u8], offset: u64) -> Option<RedStarMark> {
    if payload.is_empty() || payload.len() % BLOCK_LEN != 0 {
        return None;
    }
    Some(RedStarMark {
        offset,
        blocks: payload.len() / BLOCK_LEN,
        serials: payload.chunks_exact(BLOCK_LEN).map(decrypt_block).collect(),
    })
}

/// Looks for a Red Star chain at the very end of `data`.
///
/// Returns the mark and the length of `data` without it. The structure must be
/// exact: `EOF` last, a length that is a non-zero multiple of 24 and fits.
pub fn find_trailer(data: &[u8]) -> Option<(RedStarMark, usize)> {
    let n = data.len();
    if n < FOOTER_LEN + BLOCK_LEN || &data[n - 3..] != b"EOF" {
        return None;
    }
    let len = u32::from_le_bytes(data[n - 7..n - 3].try_into().ok()?) as usize;
    if len == 0 || len % BLOCK_LEN != 0 || len > n - FOOTER_LEN {
        return None;
    }
    let start = n - FOOTER_LEN - len;
    let mark = parse_blocks(&data[start..n - FOOTER_LEN], start as u64)?;
    Some((mark, start))
}

/// Encrypts serials into a chain payload (blocks only, no footer).
///
/// For building test fixtures and for analysts who need to recognise a mark.
/// Serials longer than 24 bytes are cut.
pub fn encode_blocks(serials: &[&str]) -> Vec<u8> {
    let c = cipher();
    let mut out = Vec::with_capacity(serials.len() * BLOCK_LEN);
    for s in serials {
        let mut plain = [0u8; BLOCK_LEN];
        let b = s.as_bytes();
        let k = b.len().min(BLOCK_LEN);
        plain[..k].copy_from_slice(&b[..k]);
        for chunk in plain.chunks_exact(8) {
            let mut blk = des::cipher::Array::<u8, _>::default();
            blk.copy_from_slice(chunk);
            c.encrypt_block(&mut blk);
            out.extend_from_slice(&blk);
        }
    }
    out
}

/// Appends a Red Star chain to `file` as Red Star OS would after the file passed
/// through machines with the given disk serials (in order).
///
/// For test fixtures: it simulates each machine adding its block.
pub fn append_trailer(file: &[u8], serials: &[&str]) -> Vec<u8> {
    let mut out = file.to_vec();
    if serials.is_empty() {
        return out;
    }
    out.extend_from_slice(&encode_blocks(serials));
    out.extend_from_slice(&((serials.len() * BLOCK_LEN) as u32).to_le_bytes());
    out.extend_from_slice(b"EOF");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn des_known_answer() {
        // Independent oracle: `printf S3RIAL01 | openssl enc -des-ecb
        // -K 0706050403020100 -nopad -provider legacy -provider default | xxd -p`
        // prints b6b79790969323ad (OpenSSL 3.0, Debian 12). Checked here so a
        // wrong key or byte order cannot slip through.
        let blocks = encode_blocks(&["S3RIAL01"]);
        assert_eq!(blocks.len(), 24);
        assert_eq!(&blocks[..8], &[0xb6, 0xb7, 0x97, 0x90, 0x96, 0x93, 0x23, 0xad]);
        let mark = parse_blocks(&blocks, 0).unwrap();
        assert_eq!(mark.serials, vec!["S3RIAL01".to_string()]);
    }

    #[test]
    fn one_two_three_blocks() {
        let base = b"\xff\xd8\xff\xd9".to_vec();
        let s = ["WD-WCAV12345678", "S1DBNSAF123456X", "Z9XYZ"];
        for k in 1..=3 {
            let marked = append_trailer(&base, &s[..k]);
            let (mark, cut) = find_trailer(&marked).unwrap();
            assert_eq!(cut, base.len());
            assert_eq!(mark.blocks, k);
            assert_eq!(mark.serials, s[..k].iter().map(|x| x.to_string()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn no_false_positive_on_pdf_end() {
        assert!(find_trailer(b"%PDF-1.4\n...trailer\n%%EOF").is_none());
        assert!(find_trailer(b"EOF").is_none());
    }

    proptest! {
        #[test]
        fn roundtrip(serials in proptest::collection::vec("[A-Z0-9 -]{1,24}", 1..5),
                     body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let refs: Vec<&str> = serials.iter().map(|s| s.as_str()).collect();
            let marked = append_trailer(&body, &refs);
            let (mark, cut) = find_trailer(&marked).unwrap();
            prop_assert_eq!(cut, body.len());
            let want: Vec<String> = serials.iter().map(|s| s.trim_end_matches('\0').to_string()).collect();
            prop_assert_eq!(mark.serials, want);
        }
    }
}
