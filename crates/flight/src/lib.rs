//! Flights: balloon launch planning from real wind forecasts.
//!
//! Groups launch balloons from the South carrying leaflets, USB sticks and
//! SD cards; many fall short or land in the sea, back in the South or in
//! China. This crate tells an operator, from a real forecast, where a balloon
//! launched at a given place and time will go, how sure that is, and which
//! launches would endanger people on the own side.
//!
//! * [`wind`]: wind cubes (geopotential height, U, V on isobaric levels over
//!   a region and forecast hours), imported from GRIB2 or synthesised, read
//!   memory-mapped, and interpolated as Tawhiri does.
//! * [`geo`]: the areas a balloon can land in (PRK, KOR, CHN, RUS, JPN, sea),
//!   the DMZ and MDL lines and airports, embedded in the binary.
//! * [`ensemble`]: Monte Carlo ensembles over the balloon's numbers and the
//!   wind error: landing probabilities per area, airports, inland reach.
//! * [`windows`]: launch windows ranked by the chance of reaching the
//!   target, with the safety limits as hard filters.
//! * [`report`]: one self-contained HTML report with an SVG map.

pub mod atmosphere;
pub mod ensemble;
pub mod geo;
pub mod model;
pub mod output;
pub mod report;
pub mod wind;
pub mod windows;
