//! Fake-capacity probe, after f3probe (Debian package f3).
//!
//! Counterfeit sticks and cards claim more than they hold: writes beyond the
//! real size wrap around onto the beginning, or vanish. Before any image byte
//! is written we write a unique marked 4 KiB block at spread offsets over the
//! CLAIMED size (the first and the very last block, each power of two and the
//! block just below it, and 63 evenly spread offsets), flush, read them back
//! bypassing the cache, and compare. Each mark is derived from its offset and
//! a random per-run nonce, so a block read back showing the mark of another
//! offset proves wrap-around, and a block showing anything else proves a lost
//! write. Leftovers of an earlier run cannot pass, as the nonce differs.
//!
//! Wrap-around is seen when two probed offsets land on the same physical
//! block. That holds whenever the real size is a power of two (addresses
//! whose high bits are ignored, the usual counterfeit) or divides the claimed
//! size by up to 64. Other wraps pass the probe but are still caught by the
//! full verification after writing, since the image then overwrites itself.
//!
//! The original content of the probed blocks is read first and written back
//! afterwards, so a refused drive keeps its data.

use super::io::{AlignedBuf, TargetIo, read_full};

/// Size of one probe block.
pub const PROBE_BLOCK: usize = 4096;

/// What a probed offset showed when read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    /// The mark written at another offset: addresses wrap around.
    MarkOf { offset: u64 },
    /// Neither its own mark nor another's: the write was lost.
    Lost,
}

/// A proof that the target holds less than it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fake {
    /// The lowest probed offset that did not keep its mark.
    pub offset: u64,
    pub found: Found,
    /// The target stores at most this many bytes reliably (every byte from
    /// here on is suspect).
    pub usable_at_most: u64,
}

/// Result of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    Genuine,
    Fake(Fake),
}

/// An I/O error while probing.
#[derive(Debug)]
pub struct ProbeIoError {
    pub offset: Option<u64>,
    pub what: &'static str,
    pub error: std::io::Error,
}

/// The offsets probed on a target claiming `claimed` bytes, sorted, each
/// followed by a whole block within the claimed size.
pub fn probe_offsets(claimed: u64) -> Vec<u64> {
    let block = PROBE_BLOCK as u64;
    if claimed < block {
        return Vec::new();
    }
    // Devices are a whole number of logical blocks (512 or 4096 bytes).
    let align: u64 = if claimed.is_multiple_of(4096) {
        4096
    } else {
        512
    };
    let down = |x: u64| x - x % align;
    let last = down(claimed - block);
    let mut v = vec![0, last];
    for k in 12..64 {
        let p = 1u64 << k;
        if p > last {
            break;
        }
        v.push(p);
        v.push(p - block);
    }
    for i in 1..64u128 {
        let x = (claimed as u128 * i / 64) as u64;
        v.push(down(x.min(last)));
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The mark for `offset`: 8 bytes holding the offset masked with a
/// nonce-derived mask (so a mark read elsewhere names its offset), then a
/// keyed BLAKE3 stream of the offset. No constant bytes, no tool name: a
/// refused drive whose restore failed carries only noise.
pub fn mark(nonce: &[u8; 32], offset: u64, out: &mut [u8]) {
    let mut h = blake3::Hasher::new_keyed(nonce);
    h.update(&offset.to_le_bytes());
    h.finalize_xof().fill(out);
    let masked = offset ^ mask(nonce);
    out[..8].copy_from_slice(&masked.to_le_bytes());
}

fn mask(nonce: &[u8; 32]) -> u64 {
    let h = blake3::keyed_hash(nonce, b"mask");
    let mut m = [0u8; 8];
    m.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(m)
}

/// Bounds the real size from the probe's discrepancies. Offsets whose marks
/// met on one physical block form a group; on a wrapping drive the lowest
/// member of a group is real storage and every other member is an alias of
/// it. A lost write is suspect itself. The bound is the lowest suspect.
fn usable_at_most(failures: &[(u64, Found)]) -> u64 {
    let mut groups: Vec<Vec<u64>> = Vec::new();
    let mut suspects: Vec<u64> = Vec::new();
    for (off, found) in failures {
        match found {
            Found::Lost => suspects.push(*off),
            Found::MarkOf { offset: other } => {
                let pair = [*off, *other];
                let (mut hit, rest): (Vec<Vec<u64>>, Vec<Vec<u64>>) = groups
                    .into_iter()
                    .partition(|g| pair.iter().any(|p| g.contains(p)));
                let mut merged: Vec<u64> = hit.drain(..).flatten().collect();
                merged.extend(pair);
                merged.sort_unstable();
                merged.dedup();
                groups = rest;
                groups.push(merged);
            }
        }
    }
    for g in &groups {
        suspects.extend(g.iter().skip(1));
    }
    suspects.into_iter().min().unwrap_or(0)
}

/// Which offset's mark `block` is, if any.
pub fn decode_mark(nonce: &[u8; 32], block: &[u8]) -> Option<u64> {
    if block.len() < 8 {
        return None;
    }
    let mut m = [0u8; 8];
    m.copy_from_slice(&block[..8]);
    let offset = u64::from_le_bytes(m) ^ mask(nonce);
    let mut expect = vec![0u8; block.len()];
    mark(nonce, offset, &mut expect);
    (expect == block).then_some(offset)
}

/// Probes `io` with marks keyed by `nonce`. `notes` receives anything the
/// caller should report (a failed restore).
pub fn probe(
    io: &mut dyn TargetIo,
    nonce: &[u8; 32],
    notes: &mut Vec<String>,
) -> Result<ProbeOutcome, ProbeIoError> {
    let offsets = probe_offsets(io.claimed_size());
    let n = offsets.len();
    let mut saved = AlignedBuf::new(n * PROBE_BLOCK);
    let mut buf = AlignedBuf::new(PROBE_BLOCK);
    let ioerr = |offset: Option<u64>, what, error| ProbeIoError {
        offset,
        what,
        error,
    };

    // 1. Keep what is there.
    for (i, &off) in offsets.iter().enumerate() {
        let dst = &mut saved.as_mut_slice()[i * PROBE_BLOCK..(i + 1) * PROBE_BLOCK];
        let got = read_full(io, dst, off).map_err(|e| ioerr(Some(off), "reading", e))?;
        if got < PROBE_BLOCK {
            return Err(ioerr(
                Some(off + got as u64),
                "reading",
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ));
        }
    }

    // 2. Mark every offset, then flush.
    let mut outcome = Ok(ProbeOutcome::Genuine);
    for &off in &offsets {
        mark(nonce, off, buf.as_mut_slice());
        if let Err(e) = io.write_at(buf.as_slice(), off) {
            outcome = Err(ioerr(Some(off), "writing", e));
            break;
        }
    }
    if outcome.is_ok()
        && let Err(e) = io.sync()
    {
        outcome = Err(ioerr(None, "flushing", e));
    }

    // 3. Read every mark back. The first discrepancy (lowest offset) is
    // reported.
    let mut failures: Vec<(u64, Found)> = Vec::new();
    if outcome.is_ok() {
        let mut expect = vec![0u8; PROBE_BLOCK];
        for &off in &offsets {
            let got = match read_full(io, buf.as_mut_slice(), off) {
                Ok(g) => g,
                Err(e) => {
                    outcome = Err(ioerr(Some(off), "reading back", e));
                    break;
                }
            };
            mark(nonce, off, &mut expect);
            if got == PROBE_BLOCK && buf.as_slice() == &expect[..] {
                continue;
            }
            let found = match decode_mark(nonce, buf.as_slice()) {
                Some(other) if got == PROBE_BLOCK => Found::MarkOf { offset: other },
                _ => Found::Lost,
            };
            failures.push((off, found));
        }
        if outcome.is_ok()
            && let Some((offset, found)) = failures.first().cloned()
        {
            outcome = Ok(ProbeOutcome::Fake(Fake {
                offset,
                found,
                usable_at_most: usable_at_most(&failures),
            }));
        }
    }

    // 4. Put the original content back, in either case.
    let mut restore_failed = None;
    for (i, &off) in offsets.iter().enumerate() {
        let src = &saved.as_slice()[i * PROBE_BLOCK..(i + 1) * PROBE_BLOCK];
        if let Err(e) = io.write_at(src, off) {
            restore_failed = Some(format!("at offset {off}: {e}"));
            break;
        }
    }
    if restore_failed.is_none()
        && let Err(e) = io.sync()
    {
        restore_failed = Some(format!("flushing: {e}"));
    }
    if let Some(r) = restore_failed {
        notes.push(format!(
            "the capacity probe could not put back the original content of its probe blocks ({r})"
        ));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_cover_ends_and_powers_of_two() {
        let c = 64u64 << 30;
        let v = probe_offsets(c);
        assert_eq!(v[0], 0);
        assert_eq!(*v.last().unwrap(), c - 4096);
        for k in 12..36 {
            assert!(v.contains(&(1u64 << k)), "2^{k}");
            assert!(v.contains(&((1u64 << k) - 4096)) || k == 12, "2^{k}-4096");
        }
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        assert!(v.iter().all(|&o| o + 4096 <= c && o % 4096 == 0));
    }

    #[test]
    fn offsets_for_odd_sized_devices_are_sector_aligned() {
        let c = 7_948_206_080u64 + 512; // not a multiple of 4096
        let v = probe_offsets(c);
        assert_eq!(*v.last().unwrap(), c - 4096);
        assert!(v.iter().all(|&o| o + 4096 <= c && o % 512 == 0));
        assert!(probe_offsets(4095).is_empty());
        assert_eq!(probe_offsets(4096), vec![0]);
    }

    #[test]
    fn usable_size_from_wrap_groups_and_losses() {
        let m = |o| Found::MarkOf { offset: o };
        // Wrap at 16 MiB: 0 and 16 MiB both show the mark of 48 MiB.
        let f = [
            (0, m(48 << 20)),
            (16 << 20, m(48 << 20)),
            ((16 << 20) - 4096, m((64 << 20) - 4096)),
        ];
        assert_eq!(usable_at_most(&f), 16 << 20);
        assert_eq!(
            usable_at_most(&[(8192, Found::Lost), (4096 * 9, Found::Lost)]),
            8192
        );
        assert_eq!(
            usable_at_most(&[(4096, m(1 << 30)), (1 << 29, Found::Lost)]),
            1 << 29
        );
    }

    #[test]
    fn marks_decode_to_their_offset_only_with_their_nonce() {
        let n1 = [7u8; 32];
        let n2 = [8u8; 32];
        let mut b = vec![0u8; PROBE_BLOCK];
        mark(&n1, 1 << 33, &mut b);
        assert_eq!(decode_mark(&n1, &b), Some(1 << 33));
        assert_eq!(decode_mark(&n2, &b), None);
        b[100] ^= 1;
        assert_eq!(decode_mark(&n1, &b), None);
        assert_eq!(decode_mark(&n1, &[0u8; PROBE_BLOCK]), None);
    }

    proptest::proptest! {
        #[test]
        fn offsets_are_aligned_in_range_and_include_both_ends(sectors in 8u64..(1u64 << 35)) {
            let c = sectors * 512;
            let v = probe_offsets(c);
            let align = if c.is_multiple_of(4096) { 4096 } else { 512 };
            proptest::prop_assert_eq!(v[0], 0);
            proptest::prop_assert_eq!(*v.last().unwrap(), (c - 4096) / align * align);
            proptest::prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
            proptest::prop_assert!(v.iter().all(|&o| o % align == 0 && o + 4096 <= c));
            proptest::prop_assert!(v.len() <= 2 + 2 * 52 + 63);
        }
    }
}
