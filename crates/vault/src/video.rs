//! Videos made safe with ffmpeg in the sandbox: a remux without metadata
//! (`-map 0:v -map 0:a? -map_metadata -1 -map_chapters -1 -c copy`,
//! bitexact flags as the drop crate uses them, one thread) that the
//! sanitizer then cleans and must find clean, and a poster frame whose
//! pixels the caller re-encodes. Recordings (MP3, and MP4/M4A or Matroska
//! without a video stream, as ffprobe finds) the same way, their first
//! audio stream alone. The Matroska remux the sanitizer itself
//! needs runs in the sandbox too ([`remux_hook`]).

use crate::ocr::last_line;
use crate::sandbox::{Job, Limits, Sandbox, SandboxError};
use baram_sanitize::Format;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the video step found, for the encrypted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFacts {
    /// The container of the safe copy ("mp4", "matroska", "webm", "avi").
    pub container: String,
    /// What the sanitizer still removed from ffmpeg's remux.
    pub remux_findings: Vec<String>,
    /// The poster frame's size and perceptual hash, when one was made.
    pub poster: Option<crate::process::ImageFacts>,
    /// Why there is no poster frame.
    pub poster_error: Option<String>,
}

/// (input file name, ffmpeg muxer, output file name) for a video format.
pub fn container(
    format: Format,
    data: &[u8],
) -> Option<(&'static str, &'static str, &'static str)> {
    match format {
        Format::Mp4 => Some(("in.mp4", "mp4", "out.mp4")),
        Format::Avi => Some(("in.avi", "avi", "out.avi")),
        Format::Mkv => {
            let head = &data[..data.len().min(64)];
            if head.windows(4).any(|w| w == b"webm") {
                Some(("in.webm", "webm", "out.webm"))
            } else {
                Some(("in.mkv", "matroska", "out.mkv"))
            }
        }
        _ => None,
    }
}

fn ffmpeg_err(step: &str, e: SandboxError) -> String {
    match e {
        SandboxError::Timeout(t) => format!("ffmpeg ({step}) did not finish within {t:?}: killed"),
        e => format!("ffmpeg ({step}): {e}"),
    }
}

/// What the audio step found, for the encrypted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFacts {
    /// The container of the safe copy ("mp3", "mp4", "matroska", "webm").
    pub container: String,
    /// What the sanitizer still removed from ffmpeg's remux.
    pub remux_findings: Vec<String>,
    /// The type it was re-encoded from, losslessly into ALAC in MP4, when
    /// the sanitizer has no cleaner of its own for it ("wav", "ogg", …).
    #[serde(default)]
    pub transcoded_from: Option<String>,
}

/// Recordings of types the sanitizer has no cleaner for (by the vault's
/// `kind_of`): their sound is re-encoded losslessly.
pub const TRANSCODED_AUDIO: [&str; 7] = ["wav", "ogg", "opus", "flac", "amr", "aiff", "aac"];

/// Re-encodes a recording's first audio stream, decoded in the sandbox,
/// losslessly as ALAC in a new MP4 without metadata (a container the
/// sanitizer checks). `kind` is one of [`TRANSCODED_AUDIO`].
pub fn transcode_audio(
    sb: &Sandbox,
    data: &[u8],
    kind: &str,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    if !TRANSCODED_AUDIO.contains(&kind) {
        return Err(format!("{kind} is not a recording type baram re-encodes"));
    }
    let inp = format!("in.{kind}");
    let args = [
        "-nostdin",
        "-v",
        "error",
        "-threads",
        "1",
        "-fflags",
        "+bitexact",
        "-i",
        &inp,
        "-map",
        "0:a:0",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-vn",
        "-sn",
        "-dn",
        "-c:a",
        "alac",
        "-flags:a",
        "+bitexact",
        "-fflags",
        "+bitexact",
        "-threads",
        "1",
        "-f",
        "mp4",
        "out.m4a",
    ];
    let mut j = Job::new("ffmpeg", &args);
    j.files = vec![(&inp, data)];
    j.outputs = vec!["out.m4a"];
    let o = sb
        .run_job(&j, limits)
        .map_err(|e| ffmpeg_err("re-encode", e))?;
    if !o.success() {
        return Err(format!(
            "ffmpeg could not read its sound: {}",
            last_line(&o.stderr)
        ));
    }
    o.files
        .into_iter()
        .next()
        .flatten()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| "ffmpeg wrote no re-encoded file".to_string())
}

/// The input file name ffmpeg is given for a media format.
fn input_name(format: Format, data: &[u8]) -> Option<&'static str> {
    match format {
        Format::Mp3 => Some("in.mp3"),
        f => container(f, data).map(|(inp, _, _)| inp),
    }
}

/// The kinds of a media file's streams ("video", "audio", "subtitle", …)
/// as ffprobe finds them, in the sandbox.
pub fn stream_kinds(
    sb: &Sandbox,
    data: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Vec<String>, String> {
    let inp = input_name(format, data).ok_or_else(|| format!("{} is not media", format.name()))?;
    let args = [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type",
        "-of",
        "csv=p=0",
        inp,
    ];
    let mut j = Job::new("ffprobe", &args);
    j.files = vec![(inp, data)];
    let o = sb.run_job(&j, limits).map_err(|e| ffmpeg_err("probe", e))?;
    if !o.success() {
        return Err(format!(
            "ffprobe could not read it: {}",
            last_line(&o.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().trim_end_matches(',').to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Remuxes the video's streams into a new file of the same container,
/// without metadata or chapters.
pub fn remux(
    sb: &Sandbox,
    data: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let (inp, muxer, out) =
        container(format, data).ok_or_else(|| format!("{} is not a video", format.name()))?;
    remux_streams(
        sb,
        data,
        (inp, muxer, out),
        &["-map", "0:v", "-map", "0:a?"],
        &[],
        limits,
    )
}

/// Remuxes a recording's first audio stream alone into a new file without
/// metadata or chapters: MP3 as MP3 without ID3 tags or the encoder's
/// Xing/LAME header, MP4 (M4A) and Matroska in their own container. Returns
/// the bytes and the container's name.
pub fn remux_audio(
    sb: &Sandbox,
    data: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<(Vec<u8>, &'static str), String> {
    let (io, extra): ((&str, &str, &str), &[&str]) = match format {
        Format::Mp3 => (
            ("in.mp3", "mp3", "out.mp3"),
            &["-id3v2_version", "0", "-write_xing", "0"],
        ),
        f => (
            container(f, data).ok_or_else(|| format!("{} is not a recording", f.name()))?,
            &[],
        ),
    };
    let bytes = remux_streams(sb, data, io, &["-map", "0:a:0"], extra, limits)?;
    Ok((bytes, io.1))
}

/// ffmpeg `-c copy` of the streams `maps` from `inp` into `out` (muxer
/// `muxer`, with `extra` options), without metadata, chapters, subtitles or
/// data streams, bitexact (no encoder names), on one thread.
fn remux_streams(
    sb: &Sandbox,
    data: &[u8],
    (inp, muxer, out): (&str, &str, &str),
    maps: &[&str],
    extra: &[&str],
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let mut args = vec![
        "-nostdin",
        "-v",
        "error",
        "-threads",
        "1",
        "-fflags",
        "+bitexact",
        "-i",
        inp,
    ];
    args.extend_from_slice(maps);
    args.extend_from_slice(&[
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-sn",
        "-dn",
        "-c",
        "copy",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-fflags",
        "+bitexact",
        "-threads",
        "1",
    ]);
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-f", muxer, out]);
    let mut j = Job::new("ffmpeg", &args);
    j.files = vec![(inp, data)];
    j.outputs = vec![out];
    let o = sb.run_job(&j, limits).map_err(|e| ffmpeg_err("remux", e))?;
    if !o.success() {
        return Err(format!(
            "ffmpeg could not remux it: {}",
            last_line(&o.stderr)
        ));
    }
    o.files
        .into_iter()
        .next()
        .flatten()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| "ffmpeg wrote no remuxed file".to_string())
}

/// One frame as a PNG: the frame at one second, or the first one.
pub fn poster(
    sb: &Sandbox,
    data: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Vec<u8>, String> {
    let (inp, _, _) =
        container(format, data).ok_or_else(|| format!("{} is not a video", format.name()))?;
    let grab = |ss: &str| {
        format!(
            "ffmpeg -nostdin -v error -threads 1 {ss} -i {inp} -map 0:v:0 -frames:v 1 -an -sn -dn -f image2 -c:v png -y poster.png"
        )
    };
    let script = format!("{} ; [ -s poster.png ] || {}", grab("-ss 1"), grab(""));
    let mut j = Job::new("/bin/sh", &["-c", &script]);
    j.files = vec![(inp, data)];
    j.outputs = vec!["poster.png"];
    let o = sb
        .run_job(&j, limits)
        .map_err(|e| ffmpeg_err("poster frame", e))?;
    match o.files.into_iter().next().flatten() {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(format!(
            "ffmpeg gave no poster frame: {}",
            last_line(&o.stderr)
        )),
    }
}

/// The sanitizer's Matroska remux, run by ffmpeg in the sandbox.
pub fn remux_hook(sb: &Sandbox, limits: &Limits) -> baram_sanitize::Remux {
    let (sb, limits) = (sb.clone(), limits.clone());
    baram_sanitize::Remux(Arc::new(move |data: &[u8], webm: bool| {
        let (inp, out) = ("in.mkv", if webm { "out.webm" } else { "out.mkv" });
        let args = baram_sanitize::mkv_remux_args(inp, out, webm);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut j = Job::new("ffmpeg", &refs);
        j.files = vec![(inp, data)];
        j.outputs = vec![out];
        let o = sb
            .run_job(&j, &limits)
            .map_err(|e| ffmpeg_err("remux", e))?;
        let msg = String::from_utf8_lossy(&o.stderr)
            .trim()
            .chars()
            .take(500)
            .collect::<String>();
        // As the sanitizer's own remux: any message at all is a refusal.
        if !o.success() || !msg.is_empty() {
            return Err(format!("failed to remux the file ({}): {msg}", o.status));
        }
        o.files
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| "no output file".to_string())
    }))
}
