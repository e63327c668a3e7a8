//! Plots goodput and frame error rate against SNR from the JSON lines of
//! `bench/radio_curve.sh` (ours, and codec2's when measured), with the
//! Shannon capacity C = 3000·log2(1 + SNR) drawn in.
//!
//! `cargo run --release -p baram-radio --example radio_plot -- curves.jsonl docs/radio-curves.png`
//!
//! Text uses a TrueType font from the system (`BARAM_PLOT_FONT`, default
//! Nanum Gothic from the Debian package fonts-nanum).

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde_json::Value;

const MODES: [&str; 7] = [
    "deepest", "deep", "robust", "sturdy", "steady", "normal", "fast",
];

struct Point {
    peer: String,
    mode: String,
    profile: String,
    snr: f64,
    fer: f64,
    goodput: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: radio_plot CURVES.jsonl OUT.png");
        std::process::exit(2);
    }
    let font = std::env::var("BARAM_PLOT_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/nanum/NanumGothic.ttf".into());
    let bytes =
        std::fs::read(&font).unwrap_or_else(|e| panic!("{font}: {e} (set BARAM_PLOT_FONT)"));
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    if register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
        panic!("{font}: not a usable font");
    }
    let text = std::fs::read_to_string(&args[0]).expect("curves file");
    let mut pts = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let get = |k: &str| v.get(k).and_then(Value::as_f64);
        let (Some(snr), Some(goodput)) = (get("snr_db"), get("goodput_bps")) else {
            continue;
        };
        pts.push(Point {
            peer: v
                .get("peer")
                .and_then(Value::as_str)
                .unwrap_or("baram")
                .to_string(),
            mode: v["mode"].as_str().unwrap_or("?").to_string(),
            profile: v["profile"].as_str().unwrap_or("?").to_string(),
            snr,
            fer: get("fer").unwrap_or(f64::NAN),
            goodput,
        });
    }
    let root = BitMapBackend::new(&args[1], (1600, 1100)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let panels = root.split_evenly((2, 2));
    let colors = [
        RGBColor(0, 0, 0),
        RGBColor(90, 60, 20),
        RGBColor(0, 0, 139),
        RGBColor(31, 119, 180),
        RGBColor(0, 170, 170),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
    ];
    let peer_colors = [
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    let color_of = |peer: &str, mode: &str, si: usize| {
        if peer == "baram" {
            colors[MODES.iter().position(|m| *m == mode).unwrap_or(0)]
        } else {
            peer_colors[si % peer_colors.len()]
        }
    };
    for (pi, profile) in ["awgn", "poor"].iter().enumerate() {
        // Goodput, log scale.
        let mut chart = ChartBuilder::on(&panels[pi])
            .caption(
                format!("goodput, {profile} (SNR in 3 kHz)"),
                ("sans-serif", 26),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-12f64..15f64, (10f64..20000f64).log_scale())
            .unwrap();
        chart
            .configure_mesh()
            .x_desc("SNR (dB)")
            .y_desc("payload bit/s")
            .draw()
            .unwrap();
        chart
            .draw_series(LineSeries::new(
                (-120..=150).map(|i| {
                    let s = f64::from(i) / 10.0;
                    (s, 3000.0 * (1.0 + 10f64.powf(s / 10.0)).log2())
                }),
                BLACK.stroke_width(2),
            ))
            .unwrap()
            .label("Shannon 3000·log2(1+SNR)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
        let mut series: Vec<(String, String)> = pts
            .iter()
            .filter(|p| p.profile == *profile)
            .map(|p| (p.peer.clone(), p.mode.clone()))
            .collect();
        series.sort();
        series.dedup();
        for (si, (peer, mode)) in series.iter().enumerate() {
            let mut line: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| p.profile == *profile && &p.peer == peer && &p.mode == mode)
                .map(|p| (p.snr, p.goodput.max(10.0)))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let color = color_of(peer, mode, si);
            let style = if peer == "baram" {
                color.stroke_width(3)
            } else {
                color.stroke_width(1)
            };
            chart
                .draw_series(LineSeries::new(line.clone(), style))
                .unwrap()
                .label(format!("{peer} {mode}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .unwrap();
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 16))
            .draw()
            .unwrap();
        // Frame error rate.
        let mut chart = ChartBuilder::on(&panels[2 + pi])
            .caption(format!("frame error rate, {profile}"), ("sans-serif", 26))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-12f64..15f64, 0f64..1.05f64)
            .unwrap();
        chart
            .configure_mesh()
            .x_desc("SNR (dB)")
            .y_desc("FER")
            .draw()
            .unwrap();
        for (si, (peer, mode)) in series.iter().enumerate() {
            let mut line: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| {
                    p.profile == *profile && &p.peer == peer && &p.mode == mode && p.fer.is_finite()
                })
                .map(|p| (p.snr, p.fer))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let color = color_of(peer, mode, si);
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))
                .unwrap()
                .label(format!("{peer} {mode}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        }
        chart
            .draw_series(LineSeries::new([(-12.0, 0.1), (15.0, 0.1)], BLACK.mix(0.4)))
            .unwrap();
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 16))
            .draw()
            .unwrap();
    }
    root.present().unwrap();
    eprintln!("wrote {}", args[1]);
}
