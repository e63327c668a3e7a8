//! Files ⇄ broadcast audio: the carousel through the modem.
//!
//! [`encode`] builds the signed carousel with the mode's payload size and
//! modulates as many packets as the requested length holds (by default one
//! round: every source block once, with the repair overhead). [`receive`]
//! demodulates one recording and gives every decoded frame to a
//! [`Receiver`], which keeps the symbols in its folder across recordings and
//! writes a file once it is rebuilt and verified against the signed manifest.

use crate::carousel::{Carousel, CarouselError, CarouselOptions, Received, Receiver, SigningKey};
use crate::modem::{Demodulator, FrameStatus, Mode, ModemError, Modulator};
use serde::Serialize;
use std::io;

/// Repair symbols per source symbol in one round by default.
pub const DEFAULT_OVERHEAD: f64 = 0.5;

/// Why a broadcast could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error(transparent)]
    Carousel(#[from] CarouselError),
    #[error(transparent)]
    Modem(#[from] ModemError),
    #[error("{minutes} minutes hold no {mode} frame (one lasts {frame_s:.1} s)")]
    TooShort {
        minutes: f64,
        mode: Mode,
        frame_s: f64,
    },
}

/// A modulated broadcast.
pub struct Broadcast {
    pub audio: Vec<f32>,
    pub summary: BroadcastSummary,
}

/// What a broadcast holds.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastSummary {
    pub mode: Mode,
    pub broadcast_id: String,
    pub files: usize,
    pub bytes: u64,
    pub frames: u64,
    /// Packets of one round (every block's source symbols plus repair).
    pub packets_per_round: u64,
    pub seconds: f64,
    /// Payload bits per second of the mode (all frame overhead counted).
    pub payload_bit_rate: f64,
}

/// Encodes files into one broadcast. `minutes`: its length (frames that fit);
/// `None`: one round.
pub fn encode<N: AsRef<str>, B: AsRef<[u8]>>(
    files: &[(N, B)],
    key: &SigningKey,
    mode: Mode,
    minutes: Option<f64>,
    overhead: f64,
) -> Result<Broadcast, BroadcastError> {
    let opts = CarouselOptions::new(mode.payload_len(), overhead);
    let carousel = Carousel::with_options(files, key, &opts)?;
    let per_round = carousel.packets_per_round();
    let frames = match minutes {
        None => per_round,
        Some(m) => {
            let n = (m * 60.0 / mode.frame_seconds()).floor();
            if n.is_nan() || n < 1.0 {
                return Err(BroadcastError::TooShort {
                    minutes: m,
                    mode,
                    frame_s: mode.frame_seconds(),
                });
            }
            n as u64
        }
    };
    let packets: Vec<Vec<u8>> = (0..frames).map(|n| carousel.packet(n)).collect();
    let audio = Modulator::new().modulate(mode, &packets)?;
    let summary = BroadcastSummary {
        mode,
        broadcast_id: carousel.broadcast_id().to_string(),
        files: files.len(),
        bytes: files.iter().map(|(_, b)| b.as_ref().len() as u64).sum(),
        frames,
        packets_per_round: per_round,
        seconds: audio.len() as f64 / crate::modem::FS,
        payload_bit_rate: mode.payload_bit_rate(),
    };
    Ok(Broadcast { audio, summary })
}

/// What one recording gave.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordingReport {
    pub seconds: f64,
    /// Frames found (preamble and sync) with a signal strong enough to try;
    /// weaker detections (mostly noise) are not counted.
    pub frames_detected: usize,
    pub frames_decoded: usize,
    /// Found but not decodable (noise, fading, interference).
    pub frames_failed: usize,
    /// Cut off by the end of the recording (the broadcast's end marker is
    /// one of them).
    pub frames_cut_off: usize,
    /// Decoded packets the receiver stored as new symbols or fragments.
    pub packets_new: usize,
    pub packets_duplicate: usize,
    /// Decoded frames whose packet the carousel refused (not ours, malformed).
    pub packets_refused: usize,
    /// Why packets were refused (the first few).
    pub refusals: Vec<String>,
    /// Frames per mode decoded.
    pub modes: Vec<(Mode, usize)>,
}

/// Demodulates a recording (8 kHz mono) into the receiver.
pub fn receive(
    receiver: &mut Receiver,
    demod: &mut Demodulator,
    audio: &[f32],
) -> io::Result<RecordingReport> {
    receive_with_progress(receiver, demod, audio, &mut |_| {})
}

/// [`receive`], telling `progress` how much of the demodulation is done
/// (0 to 1, see [`Demodulator::demodulate_with_progress`]).
pub fn receive_with_progress(
    receiver: &mut Receiver,
    demod: &mut Demodulator,
    audio: &[f32],
    progress: &mut dyn FnMut(f64),
) -> io::Result<RecordingReport> {
    let got = demod.demodulate_with_progress(audio, progress);
    let mut rep = RecordingReport {
        seconds: audio.len() as f64 / crate::modem::FS,
        ..RecordingReport::default()
    };
    for (frame, payload) in &got.frames {
        if frame.status == FrameStatus::TooWeak {
            continue;
        }
        rep.frames_detected += 1;
        match frame.status {
            FrameStatus::TooWeak => {}
            FrameStatus::Decoded => rep.frames_decoded += 1,
            FrameStatus::CutOff => rep.frames_cut_off += 1,
            FrameStatus::Undecodable | FrameStatus::BadCrc => rep.frames_failed += 1,
        }
        let Some(p) = payload else { continue };
        match rep.modes.iter_mut().find(|(m, _)| *m == frame.mode) {
            Some((_, n)) => *n += 1,
            None => rep.modes.push((frame.mode, 1)),
        }
        match receiver.receive(p)? {
            Received::Symbol | Received::ManifestFragment => rep.packets_new += 1,
            Received::Duplicate => rep.packets_duplicate += 1,
            Received::Bad(e) => {
                rep.packets_refused += 1;
                if rep.refusals.len() < 5 {
                    rep.refusals.push(e.to_string());
                }
            }
            Received::Misfit(why) => {
                rep.packets_refused += 1;
                if rep.refusals.len() < 5 {
                    rep.refusals.push(why.to_string());
                }
            }
        }
    }
    receiver.sync()?;
    Ok(rep)
}
