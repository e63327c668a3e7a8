//! Drops: what reaches a person in North Korea on a microSD card, a USB stick,
//! a DVD or a laptop's disk.
//!
//! A drop must play on what recipients own, carry nothing that identifies the
//! sender or any previous holder, and be byte-identical on every copy, so that
//! no copy can be traced to a batch.

pub mod convert;
pub mod dir;
pub mod fat32;
pub mod iso;
pub mod job;
pub mod plan;
pub mod profile;
pub mod site;
mod source;
pub mod tree;
pub mod write;
