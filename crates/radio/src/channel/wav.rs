//! WAV files: written as 8 kHz mono 16-bit PCM; read from any PCM or float
//! WAV that hound supports (8/16/24/32-bit integer, 32-bit float, plain or
//! WAVE_FORMAT_EXTENSIBLE, any channel count), mixed to mono and resampled to
//! 8 kHz.
//!
//! Before hound sees a file, its RIFF chunks are walked here, to name what is
//! wrong in words (not a WAV, a compressed format, no data) and to mend a
//! data chunk whose declared size runs past the end of the file or was never
//! written (a recorder stopped mid-recording, a file cut short): the samples
//! that are there are read and the recording is marked truncated.

use super::SAMPLE_RATE;
use super::dsp::Resampler;
use serde::Serialize;
use std::io::Cursor;
use std::path::Path;

/// What is wrong with a WAV file.
#[derive(Debug, thiserror::Error)]
pub enum WavProblem {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("empty file (0 bytes)")]
    EmptyFile,
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    #[error("{0} WAV files are not supported (convert to a plain RIFF WAV)")]
    Variant(&'static str),
    #[error("no \"fmt \" chunk before the audio data")]
    NoFormat,
    #[error("no \"data\" chunk: the file holds no audio")]
    NoData,
    #[error(
        "compressed audio ({0}); only PCM and float WAV can be read: convert it, e.g. `sox IN.wav -e signed-integer -b 16 OUT.wav`"
    )]
    Compressed(String),
    #[error("unsupported sample rate {0} Hz (1000 to 768000 Hz are read)")]
    SampleRate(u32),
    #[error("unsupported WAV format: {0}")]
    Format(String),
    #[error("zero length: the data chunk holds no complete sample")]
    ZeroLength,
    #[error("too short: {0} frames at {1} Hz make no sample at 8 kHz")]
    TooShort(u64, u32),
    #[error(
        "not a WAV file, and ffmpeg, which reads every other audio format (MP3, AAC/M4A, Opus, Ogg, AMR, FLAC, a video's sound), cannot be run ({0}): install it with `apt-get install ffmpeg`, or convert the recording to WAV"
    )]
    NoFfmpeg(String),
    #[error("neither a WAV file nor audio ffmpeg can read ({0})")]
    NotAudio(String),
}

/// A WAV error naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct WavError {
    pub file: String,
    pub problem: WavProblem,
}

/// The source format of a recording.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WavInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: u16,
    pub float: bool,
    /// Frames (samples per channel) read.
    pub frames: u64,
}

/// A recording read from a WAV file: 8 kHz mono samples in [-1, 1].
#[derive(Clone, Debug)]
pub struct Recording {
    pub samples: Vec<f32>,
    pub info: WavInfo,
    /// Set when the file ends before its data chunk does (or the size was
    /// never written): the frames declared, if known, and the frames read.
    pub truncated: Option<Truncation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Truncation {
    /// Frames the header declares; None when it declares no size (0 or
    /// 0xFFFFFFFF, a recorder that never finished the header).
    pub declared_frames: Option<u64>,
    pub read_frames: u64,
}

impl Recording {
    /// A one-line warning for a truncated recording, None otherwise.
    pub fn warning(&self, file: &str) -> Option<String> {
        self.truncated.as_ref().map(|t| match t.declared_frames {
            Some(d) => format!(
                "{file}: truncated recording: the data chunk declares {d} frames, the file holds {} ({:.1}%); reading what is there",
                t.read_frames,
                100.0 * t.read_frames as f64 / d.max(1) as f64
            ),
            None => format!(
                "{file}: the header gives no data size (recording not finalised); read {} frames to the end of the file",
                t.read_frames
            ),
        })
    }

    /// Seconds of audio.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn format_name(tag: u16) -> String {
    let name = match tag {
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MP3",
        0x00FF => "AAC",
        0x1610 => "HE-AAC",
        0x2000 => "AC-3",
        _ => "",
    };
    if name.is_empty() {
        format!("format tag 0x{tag:04X}")
    } else {
        format!("{name}, format tag 0x{tag:04X}")
    }
}

/// Walks the RIFF chunks; returns the bytes hound should read (mended if
/// the data chunk is cut short) and the truncation found.
/// The bytes for hound and the truncation found: None, or Some(declared
/// frames, None when the header gives no size).
type Prepared<'a> = (std::borrow::Cow<'a, [u8]>, Option<Option<u64>>);

fn prepare(bytes: &[u8]) -> Result<Prepared<'_>, WavProblem> {
    if bytes.is_empty() {
        return Err(WavProblem::EmptyFile);
    }
    if bytes.len() < 12 {
        return Err(WavProblem::NotWav);
    }
    match &bytes[0..4] {
        b"RIFF" => {}
        b"RIFX" => return Err(WavProblem::Variant("big-endian (RIFX)")),
        b"RF64" => return Err(WavProblem::Variant("RF64")),
        _ => return Err(WavProblem::NotWav),
    }
    if &bytes[8..12] != b"WAVE" {
        return Err(WavProblem::NotWav);
    }
    let mut pos = 12usize;
    let mut block_align: Option<u16> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4).unwrap_or(0);
        let body = pos + 8;
        if id == b"fmt " {
            let tag = u16_at(bytes, body).ok_or(WavProblem::NoFormat)?;
            let real_tag = if tag == 0xFFFE {
                u16_at(bytes, body + 24).unwrap_or(0)
            } else {
                tag
            };
            if real_tag != 1 && real_tag != 3 {
                return Err(WavProblem::Compressed(format_name(real_tag)));
            }
            let rate = u32_at(bytes, body + 4).unwrap_or(0);
            if !(1000..=768_000).contains(&rate) {
                return Err(WavProblem::SampleRate(rate));
            }
            block_align = u16_at(bytes, body + 12);
        } else if id == b"data" {
            let align = match block_align {
                Some(a) if a > 0 => a as usize,
                Some(_) => return Err(WavProblem::Format("block align 0".into())),
                None => return Err(WavProblem::NoFormat),
            };
            let remaining = bytes.len() - body;
            let unknown = size == 0 || size == u32::MAX;
            let declared = size as usize;
            if (unknown && remaining >= align)
                || declared > remaining
                || !declared.is_multiple_of(align)
            {
                let usable = if unknown || declared > remaining {
                    remaining
                } else {
                    declared
                };
                let usable = (usable / align * align).min(u32::MAX as usize - 64);
                let trunc = if unknown {
                    Some(None)
                } else if declared > remaining {
                    Some(Some((declared / align) as u64))
                } else {
                    None
                };
                let mut mended = bytes[..body + usable].to_vec();
                mended[pos + 4..pos + 8].copy_from_slice(&(usable as u32).to_le_bytes());
                let riff = (mended.len() - 8) as u32;
                mended[4..8].copy_from_slice(&riff.to_le_bytes());
                return Ok((std::borrow::Cow::Owned(mended), trunc));
            }
            return Ok((std::borrow::Cow::Borrowed(bytes), None));
        }
        pos = match body.checked_add(size as usize + (size as usize & 1)) {
            Some(p) => p,
            None => break,
        };
    }
    if block_align.is_none() {
        Err(WavProblem::NoFormat)
    } else {
        Err(WavProblem::NoData)
    }
}

fn hound_problem(e: hound::Error) -> WavProblem {
    match e {
        hound::Error::IoError(io) => WavProblem::Io(io),
        hound::Error::FormatError(s) => WavProblem::Format(s.to_string()),
        hound::Error::Unsupported => WavProblem::Format("a layout hound does not read".into()),
        other => WavProblem::Format(other.to_string()),
    }
}

fn decode(bytes: &[u8]) -> Result<Recording, WavProblem> {
    let (data, trunc) = prepare(bytes)?;
    let mut reader = hound::WavReader::new(Cursor::new(&data[..])).map_err(hound_problem)?;
    let spec = reader.spec();
    let ch = spec.channels as usize;
    if ch == 0 {
        return Err(WavProblem::Format("0 channels".into()));
    }
    let mut mono: Vec<f64> = Vec::with_capacity(reader.len() as usize / ch);
    let mut acc = 0.0f64;
    let mut k = 0usize;
    let mut push = |v: f64, mono: &mut Vec<f64>| {
        acc += if v.is_finite() { v } else { 0.0 };
        k += 1;
        if k == ch {
            mono.push(acc / ch as f64);
            acc = 0.0;
            k = 0;
        }
    };
    let mut cut = false;
    match spec.sample_format {
        hound::SampleFormat::Int => {
            if !(matches!(spec.bits_per_sample, 8 | 16 | 24 | 32)) {
                return Err(WavProblem::Format(format!(
                    "{}-bit integer samples",
                    spec.bits_per_sample
                )));
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            for s in reader.samples::<i32>() {
                match s {
                    Ok(v) => push(v as f64 * scale, &mut mono),
                    Err(hound::Error::IoError(_)) => {
                        cut = true;
                        break;
                    }
                    Err(e) => return Err(hound_problem(e)),
                }
            }
        }
        hound::SampleFormat::Float => {
            if spec.bits_per_sample != 32 {
                return Err(WavProblem::Format(format!(
                    "{}-bit float samples",
                    spec.bits_per_sample
                )));
            }
            for s in reader.samples::<f32>() {
                match s {
                    Ok(v) => push(f64::from(v), &mut mono),
                    Err(hound::Error::IoError(_)) => {
                        cut = true;
                        break;
                    }
                    Err(e) => return Err(hound_problem(e)),
                }
            }
        }
    }
    let frames = mono.len() as u64;
    if frames == 0 {
        return Err(WavProblem::ZeroLength);
    }
    let truncated = match trunc {
        Some(declared) => Some(Truncation {
            declared_frames: declared,
            read_frames: frames,
        }),
        None if cut => Some(Truncation {
            declared_frames: Some(u64::from(reader.duration())),
            read_frames: frames,
        }),
        None => None,
    };
    let samples = if spec.sample_rate == SAMPLE_RATE {
        mono
    } else {
        Resampler::run_all(f64::from(spec.sample_rate), f64::from(SAMPLE_RATE), &mono)
    };
    if samples.is_empty() {
        return Err(WavProblem::TooShort(frames, spec.sample_rate));
    }
    Ok(Recording {
        samples: samples.into_iter().map(|v| v as f32).collect(),
        info: WavInfo {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits_per_sample: spec.bits_per_sample,
            float: spec.sample_format == hound::SampleFormat::Float,
            frames,
        },
        truncated,
    })
}

/// Reads WAV bytes; `name` names the source in errors.
pub fn read_wav_bytes(name: &str, bytes: &[u8]) -> Result<Recording, WavError> {
    decode(bytes).map_err(|problem| WavError {
        file: name.to_string(),
        problem,
    })
}

/// Reads a WAV file: 8 kHz mono, whatever its format.
pub fn read_wav(path: &Path) -> Result<Recording, WavError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| WavError {
        file: name.clone(),
        problem: WavProblem::Io(e),
    })?;
    read_wav_bytes(&name, &bytes)
}

/// Reads a recording: a WAV file as [`read_wav`] does; any other audio
/// (what a phone or a pocket recorder makes: MP3, AAC/M4A, Opus, Ogg, AMR,
/// FLAC, or the sound of a video) and compressed WAV through ffmpeg (found
/// on `PATH`), which decodes it to mono PCM for the same reader.
///
/// ffmpeg runs unconfined: a recording is the listener's own, not a file
/// from a stranger (the vault's sandbox is for those).
pub fn read_recording(path: &Path) -> Result<Recording, WavError> {
    read_recording_with(path, Path::new("ffmpeg"))
}

/// [`read_recording`] with the ffmpeg program to run.
pub fn read_recording_with(path: &Path, ffmpeg: &Path) -> Result<Recording, WavError> {
    let name = path.display().to_string();
    let err = |problem| WavError {
        file: name.clone(),
        problem,
    };
    // A WAV is read here; what is not one (by its first bytes: a video may
    // be large), or a WAV this reader refuses but ffmpeg reads (compressed,
    // RF64, RIFX, an odd rate), goes to ffmpeg.
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| {
            use std::io::Read;
            f.read(&mut head)
        })
        .map_err(|e| err(WavProblem::Io(e)))?;
    if n == 0 {
        return Err(err(WavProblem::EmptyFile));
    }
    if matches!(&head, b"RIFF" | b"RIFX" | b"RF64") {
        let bytes = std::fs::read(path).map_err(|e| err(WavProblem::Io(e)))?;
        match decode(&bytes) {
            Err(WavProblem::Compressed(_) | WavProblem::Variant(_) | WavProblem::SampleRate(_)) => {
            }
            other => return other.map_err(err),
        }
    }
    // `file:` so that a name with a colon is not taken for a protocol.
    let mut input = std::ffi::OsString::from("file:");
    input.push(path.as_os_str());
    let out = std::process::Command::new(ffmpeg)
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(&input)
        .args([
            // At the link's rate already: a night's recording stays small.
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            "-",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| err(WavProblem::NoFfmpeg(format!("{}: {e}", ffmpeg.display()))))?;
    let said = String::from_utf8_lossy(&out.stderr);
    // Its last line says why; the path it repeats is named once already.
    let why = said
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no audio stream");
    let why = why
        .strip_prefix(&format!("{}: ", input.to_string_lossy()))
        .or_else(|| why.strip_prefix(&format!("{}: ", path.display())))
        .unwrap_or(why)
        .trim();
    let why = if said.contains("matches no streams") {
        "it holds no sound".to_string()
    } else if why == "Invalid argument" || why.contains("Invalid data found") {
        "not a format ffmpeg knows".to_string()
    } else {
        why.to_string()
    };
    if !out.status.success() || out.stdout.is_empty() {
        return Err(err(WavProblem::NotAudio(why)));
    }
    // ffmpeg cannot go back to write the sizes into a pipe: that is no
    // truncation. A damaged file is decoded as far as it goes.
    let mut rec = decode(&out.stdout).map_err(|p| {
        err(match p {
            WavProblem::ZeroLength | WavProblem::NoData => WavProblem::NotAudio(why.clone()),
            p => p,
        })
    })?;
    rec.truncated = None;
    Ok(rec)
}

/// 8 kHz mono 16-bit PCM WAV bytes; samples beyond [-1, 1] are clipped.
/// Returns the bytes and the number of samples clipped.
pub fn wav_bytes(samples: &[f32]) -> (Vec<u8>, u64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    let mut clipped = 0u64;
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).expect("writing to memory");
        let mut w16 = w.get_i16_writer(samples.len() as u32);
        for &s in samples {
            let v = if s.is_finite() { s } else { 0.0 };
            if v.abs() > 1.0 {
                clipped += 1;
            }
            let q = (f64::from(v) * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            w16.write_sample(q);
        }
        w16.flush().expect("writing to memory");
        w.finalize().expect("writing to memory");
    }
    (cur.into_inner(), clipped)
}

/// Writes an 8 kHz mono 16-bit WAV file; returns the number of samples clipped.
pub fn write_wav(path: &Path, samples: &[f32]) -> Result<u64, WavError> {
    if samples.len() > (u32::MAX as usize - 64) / 2 {
        return Err(WavError {
            file: path.display().to_string(),
            problem: WavProblem::Format("too long for a WAV file (over 4 GiB)".into()),
        });
    }
    let (bytes, clipped) = wav_bytes(samples);
    std::fs::write(path, bytes).map_err(|e| WavError {
        file: path.display().to_string(),
        problem: WavProblem::Io(e),
    })?;
    Ok(clipped)
}
