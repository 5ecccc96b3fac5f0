//! EnergyPlus Weather (EPW) files: the eight header lines and 8760 hourly
//! rows of a typical meteorological year (EnergyPlus "Auxiliary Programs",
//! chapter "Weather Converter Program", EPW format definition).
//!
//! Only what the physics uses is read: the `LOCATION` header (latitude,
//! longitude, time zone, elevation) and, per row, month, day, hour, dry bulb,
//! dew point, relative humidity, station pressure, global horizontal, direct
//! normal and diffuse horizontal irradiance and wind speed. EPW hours run 1–24
//! in local standard time, hour `h` ending at `h:00`. A leap-year file's
//! 29 February is dropped. A missing value (the format's 99.9 / 999 / 999999 /
//! 9999 codes) repeats the previous hour's value, as EnergyPlus does; one in
//! the first row is an error.
//!
//! Why not a crate: the one EPW crate on crates.io (`epw-rs` 0.1) is marked
//! alpha, unmaintained since January 2025, brings chrono, and does not report
//! the line of a malformed row, which users need; this reader is the few
//! fields the physics uses, with line-numbered errors.

use std::path::Path;

use super::{HOURS_PER_TYPICAL_YEAR, WeatherSample, WeatherSeries};
use crate::sun::Site;

/// Why an EPW file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EpwError {
    /// The file could not be opened or read.
    #[error("cannot read EPW file {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("EPW line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The file has the wrong number of hourly rows.
    #[error("EPW file has {rows} hourly rows; expected 8760 (or 8784 for a leap year)")]
    RowCount {
        /// Data rows found.
        rows: usize,
    },
}

/// A parsed EPW file.
#[derive(Debug, Clone, PartialEq)]
pub struct EpwFile {
    /// City name from the `LOCATION` header.
    pub city: String,
    /// The station's site.
    pub site: Site,
    /// Standard-time offset from UTC [h], −12 to 14.
    pub utc_offset_h: f64,
    /// The typical year.
    pub series: WeatherSeries,
}

/// Reads an EPW file from `path`.
pub fn read(path: &Path) -> Result<EpwFile, EpwError> {
    let text = std::fs::read_to_string(path).map_err(|source| EpwError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

fn field<'a>(fields: &[&'a str], i: usize, line: usize, name: &str) -> Result<&'a str, EpwError> {
    fields
        .get(i)
        .map(|s| s.trim())
        .ok_or_else(|| EpwError::Line {
            line,
            message: format!("missing field {} ({name})", i + 1),
        })
}

fn number(fields: &[&str], i: usize, line: usize, name: &str) -> Result<f64, EpwError> {
    let s = field(fields, i, line, name)?;
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| EpwError::Line {
            line,
            message: format!("field {} ({name}) is not a number: {s:?}", i + 1),
        })
}

/// Field index, name, the format's "missing" threshold, and valid range.
const COLUMNS: [(usize, &str, f64, f64, f64); 8] = [
    (6, "dry bulb temperature", 99.9, -70.0, 70.0),
    (7, "dew point temperature", 99.9, -70.0, 70.0),
    (8, "relative humidity", 999.0, 0.0, 110.0),
    (
        9,
        "atmospheric station pressure",
        999_999.0,
        31_000.0,
        120_000.0,
    ),
    (13, "global horizontal radiation", 9_999.0, 0.0, 2_000.0),
    (14, "direct normal radiation", 9_999.0, 0.0, 2_000.0),
    (15, "diffuse horizontal radiation", 9_999.0, 0.0, 2_000.0),
    (21, "wind speed", 999.0, 0.0, 60.0),
];

/// Parses the text of an EPW file.
pub fn parse(text: &str) -> Result<EpwFile, EpwError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (n, location) = lines.next().ok_or(EpwError::Line {
        line: 1,
        message: "empty file".into(),
    })?;
    let loc: Vec<&str> = location.split(',').collect();
    if field(&loc, 0, n, "LOCATION")? != "LOCATION" {
        return Err(EpwError::Line {
            line: n,
            message: "expected the LOCATION header".into(),
        });
    }
    let site = Site {
        latitude_deg: number(&loc, 6, n, "latitude")?,
        longitude_deg: number(&loc, 7, n, "longitude")?,
        elevation_m: number(&loc, 9, n, "elevation")?,
    };
    site.validate().map_err(|e| EpwError::Line {
        line: n,
        message: e.to_string(),
    })?;
    let utc_offset_h = number(&loc, 8, n, "time zone")?;
    if !(-12.0..=14.0).contains(&utc_offset_h) {
        return Err(EpwError::Line {
            line: n,
            message: format!("time zone {utc_offset_h} h is outside -12 to 14"),
        });
    }
    // Header lines 2–8; the last is DATA PERIODS.
    for expected in [
        "DESIGN CONDITIONS",
        "TYPICAL/EXTREME PERIODS",
        "GROUND TEMPERATURES",
        "HOLIDAYS/DAYLIGHT SAVINGS",
        "COMMENTS 1",
        "COMMENTS 2",
        "DATA PERIODS",
    ] {
        let (n, l) = lines.next().ok_or(EpwError::Line {
            line: 0,
            message: format!("file ends before the {expected} header"),
        })?;
        if !l.starts_with(expected) {
            return Err(EpwError::Line {
                line: n,
                message: format!("expected the {expected} header"),
            });
        }
    }

    let mut samples = Vec::with_capacity(HOURS_PER_TYPICAL_YEAR);
    let mut previous: Option<WeatherSample> = None;
    let mut rows = 0;
    for (n, l) in lines {
        if l.trim().is_empty() {
            continue;
        }
        rows += 1;
        let f: Vec<&str> = l.split(',').collect();
        let month = number(&f, 1, n, "month")?;
        let day = number(&f, 2, n, "day")?;
        let hour = number(&f, 3, n, "hour")?;
        if !(1.0..=12.0).contains(&month) || !(1.0..=31.0).contains(&day) {
            return Err(EpwError::Line {
                line: n,
                message: format!("invalid date: month {month}, day {day}"),
            });
        }
        if !(1.0..=24.0).contains(&hour) {
            return Err(EpwError::Line {
                line: n,
                message: format!("hour {hour} is outside 1 to 24"),
            });
        }
        if month == 2.0 && day == 29.0 {
            continue;
        }
        let mut values = [0.0; 8];
        for (slot, &(i, name, missing, lo, hi)) in values.iter_mut().zip(COLUMNS.iter()) {
            let v = number(&f, i, n, name)?;
            *slot = if v >= missing {
                f64::NAN
            } else if (lo..=hi).contains(&v) {
                v
            } else {
                return Err(EpwError::Line {
                    line: n,
                    message: format!("{name} {v} is outside {lo} to {hi}"),
                });
            };
        }
        let mut s = WeatherSample {
            dry_bulb_c: values[0],
            dew_point_c: values[1],
            rel_humidity_pct: values[2].min(100.0),
            pressure_pa: values[3],
            ghi_w_m2: values[4],
            dni_w_m2: values[5],
            dhi_w_m2: values[6],
            wind_speed_m_s: values[7],
        };
        if let Some(p) = previous {
            fill_missing(&mut s, &p);
        } else if values.iter().any(|v| v.is_nan()) {
            return Err(EpwError::Line {
                line: n,
                message: "missing value in the first hour (nothing to carry forward)".into(),
            });
        }
        previous = Some(s);
        samples.push(s);
    }
    if samples.len() != HOURS_PER_TYPICAL_YEAR {
        return Err(EpwError::RowCount { rows });
    }
    Ok(EpwFile {
        city: field(&loc, 1, 1, "city")?.to_owned(),
        site,
        utc_offset_h,
        series: WeatherSeries::typical_year(samples, (utc_offset_h * 3600.0).round() as i32),
    })
}

fn fill_missing(s: &mut WeatherSample, p: &WeatherSample) {
    for (v, pv) in [
        (&mut s.dry_bulb_c, p.dry_bulb_c),
        (&mut s.dew_point_c, p.dew_point_c),
        (&mut s.rel_humidity_pct, p.rel_humidity_pct),
        (&mut s.pressure_pa, p.pressure_pa),
        (&mut s.ghi_w_m2, p.ghi_w_m2),
        (&mut s.dni_w_m2, p.dni_w_m2),
        (&mut s.dhi_w_m2, p.dhi_w_m2),
        (&mut s.wind_speed_m_s, p.wind_speed_m_s),
    ] {
        if v.is_nan() {
            *v = pv;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sim_core::SimTime;

    /// A complete, synthetic EPW text: temperature = day of year + hour/100.
    pub(crate) fn sample_epw(leap: bool) -> String {
        let mut s = String::from(
            "LOCATION,Denver Centennial,CO,USA,TMY3,724666,39.57,-104.85,-7.0,1793.0\n\
             DESIGN CONDITIONS,0\n\
             TYPICAL/EXTREME PERIODS,0\n\
             GROUND TEMPERATURES,0\n\
             HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0\n\
             COMMENTS 1,synthetic test file\n\
             COMMENTS 2,\n\
             DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31\n",
        );
        let days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let mut doy = 0;
        for (m, &nd) in days.iter().enumerate() {
            for d in 1..=nd {
                let typical_doy = if m == 1 && d == 29 { 999 } else { doy };
                for h in 1..=24 {
                    let temp = typical_doy as f64 / 10.0 + h as f64 / 100.0;
                    s.push_str(&format!(
                        "1999,{},{d},{h},60,?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9?9,{temp:.2},-5.0,50,82000,0,0,300,400,500,100,0,0,0,0,180,{},9,9,9999,99999,0,0,0,0,0,0.0,0,0\n",
                        m + 1,
                        if h == 12 { "3.5" } else { "2.0" },
                    ));
                }
                if typical_doy != 999 {
                    doy += 1;
                }
            }
        }
        s
    }

    #[test]
    fn reads_location_and_the_typical_year() {
        let f = parse(&sample_epw(false)).unwrap();
        assert_eq!(f.city, "Denver Centennial");
        assert_eq!(f.site.latitude_deg, 39.57);
        assert_eq!(f.site.longitude_deg, -104.85);
        assert_eq!(f.site.elevation_m, 1793.0);
        assert_eq!(f.utc_offset_h, -7.0);
        assert_eq!(f.series.samples().len(), 8760);
        let first = f.series.samples()[0];
        assert_eq!(first.pressure_pa, 82_000.0);
        assert_eq!(first.ghi_w_m2, 400.0);
        assert_eq!(first.dni_w_m2, 500.0);
        assert_eq!(first.dhi_w_m2, 100.0);
        assert_eq!(first.rel_humidity_pct, 50.0);
        // 12:00 local standard time on 2 February (day index 32) = 19:00 UTC:
        // 32 / 10 + 12 / 100.
        let t: SimTime = "2026-02-02T19:00:00Z".parse().unwrap();
        let w = f.series.at(t);
        assert!((w.dry_bulb_c - 3.32).abs() < 1e-9, "{}", w.dry_bulb_c);
        assert_eq!(w.wind_speed_m_s, 3.5);
    }

    #[test]
    fn a_leap_year_file_drops_29_february() {
        let f = parse(&sample_epw(true)).unwrap();
        assert_eq!(f.series.samples().len(), 8760);
        assert!(f.series.samples().iter().all(|s| s.dry_bulb_c < 99.0));
    }

    #[test]
    fn missing_values_carry_the_previous_hour() {
        let text = sample_epw(false);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        // Row for hour 2 of 1 January: dry bulb missing (99.9).
        lines[9] = lines[9].replacen(",0.02,", ",99.9,", 1);
        let f = parse(&(lines.join("\n") + "\n")).unwrap();
        assert_eq!(
            f.series.samples()[1].dry_bulb_c,
            f.series.samples()[0].dry_bulb_c
        );
    }

    #[test]
    fn errors_name_the_line() {
        let text = sample_epw(false);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[100] = lines[100].replacen(",-5.0,", ",minus five,", 1);
        let err = parse(&lines.join("\n")).unwrap_err().to_string();
        assert!(
            err.starts_with("EPW line 101:") && err.contains("dew point"),
            "{err}"
        );

        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[50] = lines[50].replacen("1999,1,", "1999,13,", 1);
        let err = parse(&lines.join("\n")).unwrap_err().to_string();
        assert!(
            err.starts_with("EPW line 51:") && err.contains("month 13"),
            "{err}"
        );

        let short: String = text.lines().take(100).collect::<Vec<_>>().join("\n");
        assert!(matches!(
            parse(&short),
            Err(EpwError::RowCount { rows: 92 })
        ));

        let err = parse("LOCATION,x,y,z,s,1,95.0,0,0,0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EPW line 1") && err.contains("latitude_deg"),
            "{err}"
        );

        let err = read(Path::new("/no/such/file.epw"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/file.epw"), "{err}");
    }
}
