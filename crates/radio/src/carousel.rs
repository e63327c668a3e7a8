//! The fountain-coded, signed carousel: files → RaptorQ symbols in fixed-size
//! packets for the modem, and a receiver that adds up symbols across
//! recordings and writes a file only once it is rebuilt **and** verified.
//!
//! # Trust
//!
//! A signed manifest (Ed25519, `ed25519-dalek` 2.x, `verify_strict`) lists the
//! files (name, RaptorQ OTI whose transfer length is the size, BLAKE3) with the
//! broadcaster's key id (first 8 bytes of BLAKE3 of the public key), a
//! broadcast id and a sequence number. The receiver is given the trusted public
//! key. A file is written only when (1) the manifest's signature verifies with
//! that key, (2) RaptorQ decoding succeeded, and (3) the BLAKE3 of the result
//! equals the manifest's. A manifest from another key or with a bad signature
//! is reported with its key id and none of its files are written.
//!
//! # Packet format (version 1)
//!
//! Every packet is exactly one modem payload of `P` bytes (all packets of one
//! broadcast have the same `P`, 32..=8192), big-endian, ending in a CRC-16.
//!
//! Data packet (kind 1), 12 bytes of overhead, symbol size `T = P − 12`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `0x11`: version 1 (high nibble), kind 1 (low nibble) |
//! | 1 | 4 | broadcast id |
//! | 5 | 1 | file index in the manifest (0..=254) |
//! | 6 | 1 | RaptorQ source block number (SBN) |
//! | 7 | 3 | RaptorQ encoding symbol id (ESI, 24 bits) |
//! | 10 | T | one encoding symbol |
//! | P−2 | 2 | CRC-16/IBM-3740 (poly 0x1021, init 0xFFFF) of bytes 0..P−2 |
//!
//! Manifest packet (kind 2), 15 bytes of overhead, chunk `C = P − 15`:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | `0x12`: version 1, kind 2 |
//! | 1 | 4 | broadcast id |
//! | 5 | 4 | digest: first 4 bytes of BLAKE3 of the signed blob |
//! | 9 | 2 | fragment index |
//! | 11 | 2 | fragment count (index < count) |
//! | 13 | C | chunk `index` of the signed blob, zero-padded at the end |
//! | P−2 | 2 | CRC-16 of bytes 0..P−2 |
//!
//! Why CRC-16 and not CRC-32: the modem already checks each frame with its own
//! CRC; ours catches the frames that slip past it (together ≈ 2⁻³² of damaged
//! frames), and what is still wrong — or forged: a CRC is no defence against a
//! jammer sending well-formed packets — is caught by the signed BLAKE3 hashes
//! (see recovery below). Two more bytes per symbol buy nothing the hashes do
//! not already guarantee.
//!
//! Signed blob: `body length (u32)`, body, 64-byte Ed25519 signature over
//! `"baram-radio carousel manifest v1\0" ‖ body`. Body:
//!
//! | size | field |
//! |---|---|
//! | 4 | magic `"BRM\x01"` |
//! | 4 | broadcast id = first 4 bytes of BLAKE3-derive-key("baram-radio carousel broadcast id v1", body without this field) |
//! | 8 | key id |
//! | 4 | sequence |
//! | 2 | payload size P |
//! | 1 | file count (≤ 255) |
//! | per file: 1 + n | name length n, UTF-8 name |
//! | 12 | OTI, RFC 6330 §3.3.2–3 encoding (transfer length = file size, T, Z, N = 1, Al = 1) |
//! | 32 | BLAKE3 of the file |
//! | 16·Z if Z > 1 | first 16 bytes of BLAKE3 of each zero-padded source block |
//!
//! **Where the OTI goes:** only in the signed manifest. Nothing can be written
//! before the manifest is verified anyway, so repeating the OTI in packets
//! would buy no earlier files; it would only cost bytes per packet, and an
//! unsigned OTI would let a forger steer the decoder. Symbols that arrive
//! before the manifest are stored by broadcast id and used once it comes.
//!
//! # Carousel order
//!
//! Each file is split into source blocks of at most 8192 symbols. A *round*
//! gives every block `K·(1 + repair_overhead)` symbols, spread evenly through
//! the round (block b's i-th symbol at (2i+1)/(2L_b)), so any stretch carries a
//! share of every file. Round 0 starts with the K source symbols; every later
//! symbol is a fresh repair symbol (ESIs only repeat after 2²⁴), so any
//! recordings add up. One manifest packet (fragments in turn) follows every 16
//! data packets by default. The sequence is a pure function of the inputs.
//!
//! # Receiver store
//!
//! `DIR/.baram-carousel/<broadcast id>/` holds `manifest.log` and `f<N>.log`:
//! append-only logs of raw packets, each record `0xB7, length u16, packet,
//! CRC-32`. On open every record is checked and damaged bytes are skipped and
//! reported, the log rewritten atomically. `done-<N>` (written atomically)
//! names the output of a rebuilt file. Output files are written to a temp file,
//! fsynced, renamed into `DIR` under their sanitised manifest name (never
//! overwriting a different file: `name (2).ext`).
//!
//! # Bad symbols
//!
//! A decode whose result fails its signed hash is never written. The block is
//! decoded again when more symbols arrive, first without symbol ids seen with
//! two contents, then leaving out one arrival-ordered group of symbols at a
//! time; only a result that passes the signed hash is accepted.

mod manifest;
mod packet;
mod receiver;
mod sender;
mod store;

pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use manifest::{
    BLOCK_HASH_LEN, KeyId, MAX_BLOCK_SYMBOLS, MAX_FILE_SIZE, MAX_FILES, Manifest, ManifestError,
    ManifestFile, blob_len, key_id, load_signing_key, signing_key_from_seed, verify_blob,
};
pub use packet::{
    BroadcastId, CRC_LEN, DATA_HEADER_LEN, DATA_OVERHEAD, DataPacket, MANIFEST_HEADER_LEN,
    MAX_PAYLOAD, MIN_PAYLOAD, ManifestPacket, Packet, PacketError, crc16, parse,
};
pub use receiver::{
    Event, FileState, FileStatus, ReceiveStats, Received, Receiver, STATE_DIR, sanitize_name,
};
pub use sender::{Carousel, CarouselError, CarouselOptions};
