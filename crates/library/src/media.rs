//! Media facts from ffprobe (Debian package ffmpeg), run as a subprocess.
//!
//! ffprobe is optional: without it items are added without media facts. With
//! it, a file ffprobe cannot read is reported as broken media and not added.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// What ffprobe says about a media file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_bit_rate: Option<u64>,
}

/// True when ffprobe can be run.
pub fn ffprobe_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = Command::new("ffprobe")
            .arg("-version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            tracing::warn!(
                "ffprobe not found: media facts (duration, resolution, codecs) are not recorded; install it with: apt-get install ffmpeg"
            );
        }
        ok
    })
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    bit_rate: Option<String>,
    disposition: Option<Disposition>,
}

#[derive(Deserialize)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
    bit_rate: Option<String>,
}

/// Probes a media file. `Ok(None)` when ffprobe is not installed; `Err` with
/// ffprobe's own words when it cannot read the file.
pub(crate) fn probe(path: &Path) -> Result<Option<MediaInfo>, String> {
    if !ffprobe_available() {
        return Ok(None);
    }
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .map_err(|e| format!("ffprobe could not run: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr
        .lines()
        .next()
        .unwrap_or("")
        .replace(&path.display().to_string(), "file");
    if !out.status.success() {
        return Err(format!("ffprobe cannot read it: {}", first.trim()));
    }
    let p: Probe = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("ffprobe output unreadable: {e}"))?;
    let mut info = MediaInfo::default();
    let mut any = false;
    for s in &p.streams {
        match s.codec_type.as_deref() {
            Some("video") if s.disposition.as_ref().is_none_or(|d| d.attached_pic == 0) => {
                any = true;
                if info.video_codec.is_none() {
                    info.video_codec = s.codec_name.clone();
                    info.width = s.width;
                    info.height = s.height;
                }
            }
            Some("audio") => {
                any = true;
                if info.audio_codec.is_none() {
                    info.audio_codec = s.codec_name.clone();
                    info.audio_bit_rate = s.bit_rate.as_deref().and_then(|b| b.parse().ok());
                }
            }
            _ => {}
        }
    }
    if !any {
        return Err("ffprobe finds no audio or video stream in it".into());
    }
    if let Some(f) = p.format {
        info.duration_s = f.duration.and_then(|d| d.parse().ok());
        info.bit_rate = f.bit_rate.and_then(|b| b.parse().ok());
    }
    Ok(Some(info))
}
