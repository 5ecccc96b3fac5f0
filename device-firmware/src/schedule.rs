//! Where the setpoints come from: a weekly schedule in the AURRA block format
//! (`{"label","start","end","heat","cool","days"}`, times `HH:MM` local,
//! temperatures °F), evaluated in the device's IANA time zone; a setpoint set
//! through the API, which holds until the next schedule block begins; and Eco
//! Mode, which caps the heat setpoint and floors the cool setpoint.
//!
//! A block whose end is not after its start crosses midnight: it runs from
//! `start` on each listed day to `end` the next morning (`22:00`–`04:00`).
//! A block with equal start and end runs 24 hours.

use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::control::{FanMode, Mode, Targets};
use crate::time::Instant;

/// Lowest and highest setpoints the API accepts [°F].
pub const SETPOINT_RANGE_F: (i64, i64) = (40, 90);

/// A schedule block as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    /// Display name ("Morning").
    #[serde(default)]
    pub label: Option<String>,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`.
    pub end: String,
    /// Heat setpoint [°F], 40–90.
    pub heat: i64,
    /// Cool setpoint [°F], 40–90.
    pub cool: i64,
    /// Days it starts on: `mon` … `sun`.
    pub days: Vec<String>,
}

/// A named schedule as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Schedule name.
    pub name: String,
    /// Its blocks.
    pub blocks: Vec<BlockSpec>,
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// The offending field, e.g. `blocks[2].start`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A validated block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Start [minutes after local midnight].
    pub start_min: u16,
    /// End [minutes after local midnight]; ≤ start: the next day.
    pub end_min: u16,
    /// Heat setpoint [°F].
    pub heat_f: i64,
    /// Cool setpoint [°F].
    pub cool_f: i64,
    /// Days it starts on: bit 0 Monday … bit 6 Sunday.
    pub days: u8,
}

/// A validated schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Name.
    pub name: String,
    /// Blocks in the order given.
    pub blocks: Vec<Block>,
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    // 24:00 is accepted as the end of the day.
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn day_bit(d: &str) -> Option<u8> {
    let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|x| x.eq_ignore_ascii_case(d))?;
    Some(1 << i)
}

fn weekday_bit(w: Weekday) -> u8 {
    1 << (w.to_monday_zero_offset() as u8)
}

impl Schedule {
    /// Validates a schedule from the API.
    pub fn from_spec(spec: &ScheduleSpec) -> Result<Schedule, ScheduleError> {
        let err = |field: String, message: &str| ScheduleError {
            field,
            message: message.to_owned(),
        };
        if spec.name.trim().is_empty() {
            return Err(err("name".into(), "must not be empty"));
        }
        if spec.blocks.is_empty() || spec.blocks.len() > 64 {
            return Err(err("blocks".into(), "must have 1 to 64 blocks"));
        }
        let (lo, hi) = SETPOINT_RANGE_F;
        let mut blocks = Vec::with_capacity(spec.blocks.len());
        for (i, b) in spec.blocks.iter().enumerate() {
            let f = |name: &str| format!("blocks[{i}].{name}");
            let start_min = parse_hhmm(&b.start)
                .filter(|&m| m < 1_440)
                .ok_or_else(|| err(f("start"), "must be HH:MM"))?;
            let end_min = parse_hhmm(&b.end).ok_or_else(|| err(f("end"), "must be HH:MM"))?;
            if !(lo..=hi).contains(&b.heat) {
                return Err(err(f("heat"), "must be 40 to 90 °F"));
            }
            if !(lo..=hi).contains(&b.cool) {
                return Err(err(f("cool"), "must be 40 to 90 °F"));
            }
            if b.heat > b.cool {
                return Err(err(f("heat"), "must not exceed cool"));
            }
            let mut days = 0;
            for d in &b.days {
                days |= day_bit(d)
                    .ok_or_else(|| err(f("days"), "days are mon, tue, wed, thu, fri, sat, sun"))?;
            }
            if days == 0 {
                return Err(err(f("days"), "must name at least one day"));
            }
            blocks.push(Block {
                start_min,
                end_min: end_min % 1_440,
                heat_f: b.heat,
                cool_f: b.cool,
                days,
            });
        }
        Ok(Schedule {
            name: spec.name.clone(),
            blocks,
        })
    }

    /// The block in force at local time `local`, with the local date-time its
    /// current occurrence began (which identifies the occurrence).
    pub fn active(&self, local: DateTime) -> Option<(usize, DateTime)> {
        let minute =
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        let today = weekday_bit(local.weekday());
        let yesterday = weekday_bit(local.weekday().previous());
        let start_of = |date: jiff::civil::Date, min: u16| {
            date.to_datetime(
                jiff::civil::Time::new((min / 60) as i8, (min % 60) as i8, 0, 0)
                    .unwrap_or_default(),
            )
        };
        for (i, b) in self.blocks.iter().enumerate() {
            let crosses = b.end_min <= b.start_min;
            if b.days & today != 0 && minute >= b.start_min && (crosses || minute < b.end_min) {
                return Some((i, start_of(local.date(), b.start_min)));
            }
            if crosses && b.days & yesterday != 0 && minute < b.end_min {
                let date = local.date().yesterday().unwrap_or(local.date());
                return Some((i, start_of(date, b.start_min)));
            }
        }
        None
    }
}

/// Eco Mode: limits that save energy while enabled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eco {
    /// Whether Eco Mode is on.
    pub enabled: bool,
    /// Highest heat setpoint while on [°F].
    pub heat_limit: i64,
    /// Lowest cool setpoint while on [°F].
    pub cool_limit: i64,
}

impl Default for Eco {
    fn default() -> Self {
        Eco {
            enabled: false,
            heat_limit: 62,
            cool_limit: 82,
        }
    }
}

/// A setpoint set through the API, held until the next block begins.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hold {
    heat_f: f64,
    cool_f: f64,
    /// The block occurrence in force when it was set (`None`: none was).
    during: Option<(usize, DateTime)>,
}

/// The thermostat's comfort settings and how they combine.
#[derive(Debug, Clone)]
pub struct Comfort {
    /// Mode.
    pub mode: Mode,
    /// Fan setting.
    pub fan: FanMode,
    /// Setpoints when neither a schedule block nor a hold applies [°F].
    pub base_heat_f: f64,
    /// See `base_heat_f`.
    pub base_cool_f: f64,
    /// The weekly schedule, if any.
    pub schedule: Option<Schedule>,
    /// Eco Mode.
    pub eco: Eco,
    hold: Option<Hold>,
    tz: TimeZone,
}

impl Comfort {
    /// Heat mode at 68/76 °F, fan auto, no schedule, in time zone `tz`.
    pub fn new(tz: TimeZone) -> Comfort {
        Comfort {
            mode: Mode::Heat,
            fan: FanMode::Auto,
            base_heat_f: 68.0,
            base_cool_f: 76.0,
            schedule: None,
            eco: Eco::default(),
            hold: None,
            tz,
        }
    }

    /// The device's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Changes the time zone (from settings).
    pub fn set_time_zone(&mut self, tz: TimeZone) {
        self.tz = tz;
    }

    fn local(&self, now: Instant) -> DateTime {
        self.tz.to_datetime(now.to_timestamp())
    }

    /// Applies an API setpoint at `now`: `temperature` [°F] becomes the heat
    /// setpoint in heat mode, the cool setpoint in cool mode, and the middle
    /// of a 4 °F band in auto; it holds until the next schedule block begins.
    pub fn set_point(&mut self, now: Instant, temperature_f: i64, mode: Mode) {
        self.mode = mode;
        let t = temperature_f as f64;
        let current = self.effective(now);
        let (heat_f, cool_f) = match mode {
            Mode::Heat => (t, current.cool_f.max(t)),
            Mode::Cool => (current.heat_f.min(t), t),
            Mode::Auto => (t - 2.0, t + 2.0),
            Mode::Off => (current.heat_f, current.cool_f),
        };
        let during = self
            .schedule
            .as_ref()
            .and_then(|s| s.active(self.local(now)));
        self.hold = Some(Hold {
            heat_f,
            cool_f,
            during,
        });
    }

    /// Replaces the schedule (and ends any hold).
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = Some(schedule);
        self.hold = None;
    }

    /// Whether an API setpoint is holding.
    pub fn holding(&self) -> bool {
        self.hold.is_some()
    }

    /// The targets in force at `now`: the hold if it still applies, else the
    /// schedule block, else the base setpoints; then Eco limits.
    pub fn effective(&mut self, now: Instant) -> Targets {
        let active = self
            .schedule
            .as_ref()
            .and_then(|s| s.active(self.local(now)));
        if let Some(h) = self.hold
            && active.is_some()
            && active != h.during
        {
            // A new block began: the hold ends.
            self.hold = None;
        }
        let (mut heat_f, mut cool_f) = match (self.hold, active, &self.schedule) {
            (Some(h), _, _) => (h.heat_f, h.cool_f),
            (None, Some((i, _)), Some(s)) => (s.blocks[i].heat_f as f64, s.blocks[i].cool_f as f64),
            _ => (self.base_heat_f, self.base_cool_f),
        };
        if self.eco.enabled {
            heat_f = heat_f.min(self.eco.heat_limit as f64);
            cool_f = cool_f.max(self.eco.cool_limit as f64);
        }
        Targets {
            mode: self.mode,
            heat_f,
            cool_f,
            fan: self.fan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The seed's "Workday Routine".
    fn workday() -> Schedule {
        let spec: ScheduleSpec = serde_json::from_value(json!({
            "name": "Workday Routine",
            "blocks": [
                { "label":"Morning", "start":"04:00", "end":"08:00", "heat":70, "cool":74, "days":["mon","tue","wed","thu","fri"] },
                { "label":"Day", "start":"08:00", "end":"16:30", "heat":65, "cool":78, "days":["mon","tue","wed","thu","fri"] },
                { "label":"Evening", "start":"16:30", "end":"22:00", "heat":72, "cool":73, "days":["mon","tue","wed","thu","fri"] },
                { "label":"Night", "start":"22:00", "end":"04:00", "heat":68, "cool":76, "days":["mon","tue","wed","thu","fri"] }
            ]
        }))
        .unwrap();
        Schedule::from_spec(&spec).unwrap()
    }

    fn at(s: &str) -> Instant {
        Instant::parse_rfc3339(s).unwrap()
    }

    fn comfort() -> Comfort {
        let mut c = Comfort::new(TimeZone::get("America/Los_Angeles").unwrap());
        c.set_schedule(workday());
        c
    }

    #[test]
    fn blocks_follow_local_time_and_cross_midnight() {
        let mut c = comfort();
        // Wednesday 2026-07-15, Los Angeles is UTC−7.
        let heat = |c: &mut Comfort, s: &str| c.effective(at(s)).heat_f;
        assert_eq!(heat(&mut c, "2026-07-15T12:00:00Z"), 70.0); // 05:00 Morning
        assert_eq!(heat(&mut c, "2026-07-15T20:00:00Z"), 65.0); // 13:00 Day
        assert_eq!(heat(&mut c, "2026-07-16T01:00:00Z"), 72.0); // 18:00 Evening
        assert_eq!(heat(&mut c, "2026-07-16T06:00:00Z"), 68.0); // 23:00 Night
        assert_eq!(heat(&mut c, "2026-07-16T09:00:00Z"), 68.0); // Thu 02:00, Wednesday's Night
        // Saturday 02:00 still runs Friday night's block; Saturday noon has
        // none: the base setpoints apply.
        assert_eq!(heat(&mut c, "2026-07-18T09:00:00Z"), 68.0);
        assert_eq!(c.effective(at("2026-07-18T19:00:00Z")).cool_f, 76.0);
        assert_eq!(
            heat(&mut c, "2026-07-19T09:00:00Z"),
            68.0,
            "base heat on Sunday night"
        );
    }

    #[test]
    fn an_api_setpoint_holds_until_the_next_block() {
        let mut c = comfort();
        c.set_point(at("2026-07-15T20:00:00Z"), 75, Mode::Heat); // 13:00, Day block
        assert_eq!(c.effective(at("2026-07-15T23:00:00Z")).heat_f, 75.0); // 16:00
        assert!(c.holding());
        // 16:30 local: Evening begins, the hold ends.
        assert_eq!(c.effective(at("2026-07-15T23:31:00Z")).heat_f, 72.0);
        assert!(!c.holding());
        // Cool mode sets the cool setpoint.
        c.set_point(at("2026-07-16T00:00:00Z"), 71, Mode::Cool);
        let t = c.effective(at("2026-07-16T00:05:00Z"));
        assert_eq!((t.mode, t.cool_f, t.heat_f), (Mode::Cool, 71.0, 71.0));
    }

    #[test]
    fn eco_mode_applies_its_limits() {
        let mut c = comfort();
        c.eco = Eco {
            enabled: true,
            heat_limit: 62,
            cool_limit: 80,
        };
        let t = c.effective(at("2026-07-16T01:00:00Z")); // Evening 72/73
        assert_eq!((t.heat_f, t.cool_f), (62.0, 80.0));
        c.eco.enabled = false;
        let t = c.effective(at("2026-07-16T01:00:00Z"));
        assert_eq!((t.heat_f, t.cool_f), (72.0, 73.0));
    }

    #[test]
    fn invalid_schedules_name_the_field() {
        let bad = |blocks: serde_json::Value| {
            let spec: ScheduleSpec =
                serde_json::from_value(json!({ "name": "x", "blocks": blocks })).unwrap();
            Schedule::from_spec(&spec).unwrap_err().field
        };
        let block = |start: &str, heat: i64, days: serde_json::Value| json!([{ "start": start, "end": "08:00", "heat": heat, "cool": 80, "days": days }]);
        assert_eq!(bad(block("25:00", 70, json!(["mon"]))), "blocks[0].start");
        assert_eq!(bad(block("04:00", 95, json!(["mon"]))), "blocks[0].heat");
        assert_eq!(bad(block("04:00", 70, json!(["monday"]))), "blocks[0].days");
        assert_eq!(bad(block("04:00", 70, json!([]))), "blocks[0].days");
        assert_eq!(bad(json!([])), "blocks");
        assert!(
            serde_json::from_value::<ScheduleSpec>(json!({"name": "x", "blocks": [], "extra": 1}))
                .is_err()
        );
    }

    #[test]
    fn hhmm_parsing() {
        assert_eq!(parse_hhmm("00:00"), Some(0));
        assert_eq!(parse_hhmm("16:30"), Some(990));
        assert_eq!(parse_hhmm("24:00"), Some(1_440));
        assert_eq!(parse_hhmm("4:00"), None);
        assert_eq!(parse_hhmm("12:60"), None);
    }
}
