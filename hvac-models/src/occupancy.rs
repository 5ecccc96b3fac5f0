//! Who is home, awake or asleep: daily routines in the home's own time zone,
//! with day-to-day randomness.
//!
//! Each household follows a routine — wake, (for commuters on weekdays) leave
//! and return, sleep — with every time jittered per day (normal, σ =
//! `jitter_h`), plus occasional days away. This is the schedule-with-noise
//! form of residential occupancy models such as Richardson, Thomson & Infield
//! (2008), "A high-resolution domestic building occupancy model for energy
//! demand simulations", Energy and Buildings 40; the default times follow the
//! American Time Use Survey's typical weekday (wake ≈ 6:30, work ≈ 8:00–17:30,
//! sleep ≈ 23:00).
//!
//! A day's plan is a pure function of (seed, home, local date): the home's
//! "occupancy" stream is read at a word position derived from the date, so
//! instants can be queried in any order and any number of times.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use sim_core::{SimDuration, SimRng, SimTime, stream};

use crate::params::{ParamError, check_range};

/// How a household spends its weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifestyle {
    /// Away during the working day on weekdays.
    Commuter,
    /// Home all day (retired, working from home, caring for children).
    HomeAllDay,
}

impl Lifestyle {
    /// Every lifestyle.
    pub const ALL: [Lifestyle; 2] = [Lifestyle::Commuter, Lifestyle::HomeAllDay];

    /// The scenario files' name (`commuter`, `home_all_day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifestyle::Commuter => "commuter",
            Lifestyle::HomeAllDay => "home_all_day",
        }
    }
}

/// A household's routine. Times are local hours (e.g. 6.5 = 06:30); a sleep
/// time past 24 means after midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OccupancyParams {
    /// People in the household, 1 to 12.
    pub occupants: u32,
    /// Weekday pattern.
    pub lifestyle: Lifestyle,
    /// Weekday wake time [h], 3 to 12.
    pub wake_h: f64,
    /// Weekday departure [h] (commuters), 5 to 14.
    pub leave_h: f64,
    /// Weekday return [h] (commuters), 11 to 23.
    pub return_h: f64,
    /// Weekday bedtime [h], 19 to 27.
    pub sleep_h: f64,
    /// Weekend wake time [h], 3 to 13.
    pub weekend_wake_h: f64,
    /// Weekend bedtime [h], 19 to 28.
    pub weekend_sleep_h: f64,
    /// Standard deviation of each time from day to day [h], 0 to 3.
    pub jitter_h: f64,
    /// Chance that the household is away the whole day, 0 to 1.
    pub away_day_probability: f64,
}

impl Default for OccupancyParams {
    fn default() -> Self {
        OccupancyParams {
            occupants: 2,
            lifestyle: Lifestyle::Commuter,
            wake_h: 6.5,
            leave_h: 8.0,
            return_h: 17.5,
            sleep_h: 23.0,
            weekend_wake_h: 8.0,
            weekend_sleep_h: 23.5,
            jitter_h: 0.4,
            away_day_probability: 0.03,
        }
    }
}

impl OccupancyParams {
    /// Checks every field's range and that the day's events come in order.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_range("occupants", f64::from(self.occupants), 1.0, 12.0)?;
        check_range("wake_h", self.wake_h, 3.0, 12.0)?;
        check_range("leave_h", self.leave_h, self.wake_h, 14.0)?;
        check_range("return_h", self.return_h, self.leave_h.max(11.0), 23.0)?;
        check_range("sleep_h", self.sleep_h, self.return_h.max(19.0), 27.0)?;
        check_range("weekend_wake_h", self.weekend_wake_h, 3.0, 13.0)?;
        check_range("weekend_sleep_h", self.weekend_sleep_h, 19.0, 28.0)?;
        check_range("jitter_h", self.jitter_h, 0.0, 3.0)?;
        check_range("away_day_probability", self.away_day_probability, 0.0, 1.0)
    }
}

/// One local day's routine, in minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayPlan {
    /// The household is away all day (and the previous night's sleep ends
    /// at `wake_min`, when they leave).
    pub away_all_day: bool,
    /// Wake-up.
    pub wake_min: f64,
    /// Departure and return, if the household goes out for the day.
    pub out_min: Option<(f64, f64)>,
    /// Bedtime (may exceed 1440: after midnight).
    pub sleep_min: f64,
}

/// Where the household is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Everyone out.
    Away,
    /// Home and awake.
    Home,
    /// Home and asleep.
    Asleep,
}

/// A household's occupancy model.
#[derive(Debug, Clone)]
pub struct Occupancy {
    params: OccupancyParams,
    tz: TimeZone,
    seed: u64,
    home_id: u64,
}

/// Days from 1970-01-01 to `date`.
fn days_since_epoch(date: Date) -> i64 {
    sim_core::time::days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    )
}

impl Occupancy {
    /// The occupancy of home `home_id` in time zone `tz`, for run `seed`.
    pub fn new(
        params: OccupancyParams,
        tz: TimeZone,
        seed: u64,
        home_id: u64,
    ) -> Result<Occupancy, ParamError> {
        params.validate()?;
        Ok(Occupancy {
            params,
            tz,
            seed,
            home_id,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &OccupancyParams {
        &self.params
    }

    /// The home's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn day_rng(&self, date: Date) -> SimRng {
        let mut rng = stream(self.seed, self.home_id, "occupancy");
        // 64 words (32 u64 draws) per day, offset so that dates before 1970
        // stay positive.
        let day = u128::try_from(days_since_epoch(date) + (1 << 40)).unwrap_or(0);
        rng.set_word_pos(day * 64);
        rng
    }

    /// The routine of local `date`.
    pub fn plan(&self, date: Date) -> DayPlan {
        let p = &self.params;
        let mut rng = self.day_rng(date);
        let mut jitter = || -> f64 {
            let z: f64 = StandardNormal.sample(&mut rng);
            z.clamp(-3.0, 3.0) * p.jitter_h * 60.0
        };
        let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
        let (wake, sleep) = if weekend {
            (p.weekend_wake_h, p.weekend_sleep_h)
        } else {
            (p.wake_h, p.sleep_h)
        };
        let wake_min = wake * 60.0 + jitter();
        let sleep_min = (sleep * 60.0 + jitter()).max(wake_min + 60.0);
        let commute = !weekend && p.lifestyle == Lifestyle::Commuter;
        let leave = p.leave_h * 60.0 + jitter();
        let ret = p.return_h * 60.0 + jitter();
        let away_all_day = rng.random_bool(p.away_day_probability);
        let out_min = if commute {
            let leave = leave.max(wake_min + 15.0);
            let ret = ret.max(leave + 60.0).min(sleep_min - 15.0);
            (ret > leave).then_some((leave, ret))
        } else {
            None
        };
        DayPlan {
            away_all_day,
            wake_min,
            out_min,
            sleep_min,
        }
    }

    fn local(&self, t: SimTime) -> DateTime {
        let ts = t.to_timestamp().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        self.tz.to_datetime(ts)
    }

    /// Where the household is at `t`.
    pub fn presence_at(&self, t: SimTime) -> Presence {
        let local = self.local(t);
        let date = local.date();
        let minute = f64::from(local.hour()) * 60.0
            + f64::from(local.minute())
            + f64::from(local.second()) / 60.0;
        let today = self.plan(date);
        let yesterday = date.yesterday().map(|d| self.plan(d)).ok();
        // Still up after midnight from yesterday's plan?
        if let Some(y) = yesterday
            && !y.away_all_day
            && minute + 1_440.0 < y.sleep_min
        {
            return Presence::Home;
        }
        if today.away_all_day {
            return Presence::Away;
        }
        if minute < today.wake_min || minute >= today.sleep_min {
            return Presence::Asleep;
        }
        match today.out_min {
            Some((leave, ret)) if minute >= leave && minute < ret => Presence::Away,
            _ => Presence::Home,
        }
    }

    /// People at home at `t` (asleep or awake).
    pub fn occupants_at(&self, t: SimTime) -> u32 {
        match self.presence_at(t) {
            Presence::Away => 0,
            Presence::Home | Presence::Asleep => self.params.occupants,
        }
    }

    /// The first instant after `t` (to the minute) at which the presence
    /// changes, searching up to three days ahead; `t + 3 days` if none.
    pub fn next_change_after(&self, t: SimTime) -> SimTime {
        let now = self.presence_at(t);
        let minute = SimDuration::from_mins(1);
        // Coarse 15-minute scan, then refine to the minute.
        let mut lo = t;
        let horizon = t + SimDuration::from_days(3);
        while lo < horizon {
            let hi = lo + SimDuration::from_mins(15);
            if self.presence_at(hi) != now {
                let mut m = lo;
                while m < hi {
                    m += minute;
                    if self.presence_at(m) != now {
                        return m;
                    }
                }
                return hi;
            }
            lo = hi;
        }
        horizon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denver() -> TimeZone {
        TimeZone::get("America/Denver").unwrap()
    }

    fn occ(params: OccupancyParams) -> Occupancy {
        Occupancy::new(params, denver(), 1, 7).unwrap()
    }

    fn at(s: &str) -> SimTime {
        s.parse().unwrap()
    }

    #[test]
    fn a_commuters_weekday_in_local_time() {
        let o = occ(OccupancyParams {
            jitter_h: 0.0,
            away_day_probability: 0.0,
            ..OccupancyParams::default()
        });
        // Wednesday 2026-07-15 in Denver (UTC−6 in summer).
        assert_eq!(o.presence_at(at("2026-07-15T09:00:00Z")), Presence::Asleep); // 03:00
        assert_eq!(o.presence_at(at("2026-07-15T13:00:00Z")), Presence::Home); // 07:00
        assert_eq!(o.presence_at(at("2026-07-15T18:00:00Z")), Presence::Away); // 12:00
        assert_eq!(o.presence_at(at("2026-07-16T01:00:00Z")), Presence::Home); // 19:00
        assert_eq!(o.presence_at(at("2026-07-16T05:30:00Z")), Presence::Asleep); // 23:30
        assert_eq!(o.occupants_at(at("2026-07-15T18:00:00Z")), 0);
        assert_eq!(o.occupants_at(at("2026-07-16T01:00:00Z")), 2);
        // Leaving at 08:00 local = 14:00 UTC.
        assert_eq!(
            o.next_change_after(at("2026-07-15T13:00:00Z")),
            at("2026-07-15T14:00:00Z")
        );
        // Saturday: home at noon.
        assert_eq!(o.presence_at(at("2026-07-18T18:00:00Z")), Presence::Home);
    }

    #[test]
    fn bedtimes_after_midnight_carry_into_the_next_day() {
        let o = occ(OccupancyParams {
            jitter_h: 0.0,
            away_day_probability: 0.0,
            lifestyle: Lifestyle::HomeAllDay,
            sleep_h: 25.0, // 01:00
            ..OccupancyParams::default()
        });
        // Thursday 00:30 local (06:30 UTC): still up from Wednesday.
        assert_eq!(o.presence_at(at("2026-07-16T06:30:00Z")), Presence::Home);
        assert_eq!(o.presence_at(at("2026-07-16T07:30:00Z")), Presence::Asleep);
    }

    #[test]
    fn daylight_saving_time_shifts_utc_but_not_the_routine() {
        let o = occ(OccupancyParams {
            jitter_h: 0.0,
            away_day_probability: 0.0,
            ..OccupancyParams::default()
        });
        // 12:00 local in January (UTC−7) is 19:00 UTC; in July (UTC−6) 18:00 UTC.
        assert_eq!(o.presence_at(at("2026-01-14T19:00:00Z")), Presence::Away);
        assert_eq!(o.presence_at(at("2026-01-15T00:45:00Z")), Presence::Home); // 17:45
        assert_eq!(o.presence_at(at("2026-01-15T00:15:00Z")), Presence::Away); // 17:15
    }

    #[test]
    fn plans_are_random_per_day_but_reproducible() {
        let o = occ(OccupancyParams::default());
        let d = Date::new(2026, 3, 4).unwrap();
        assert_eq!(o.plan(d), o.plan(d));
        assert_ne!(o.plan(d), o.plan(d.tomorrow().unwrap()));
        // Jitter has the stated spread: weekday wake times over two years.
        let mut wakes = Vec::new();
        let mut day = Date::new(2026, 1, 1).unwrap();
        for _ in 0..730 {
            if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
                wakes.push(o.plan(day).wake_min);
            }
            day = day.tomorrow().unwrap();
        }
        let n = wakes.len() as f64;
        let mean = wakes.iter().sum::<f64>() / n;
        let sd = (wakes.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 390.0).abs() < 5.0, "{mean}");
        assert!((sd - 24.0).abs() < 3.0, "{sd}");
        let away = (0..1000)
            .filter(|i| {
                o.plan(
                    Date::new(2030, 1, 1)
                        .unwrap()
                        .checked_add(jiff::Span::new().days(*i))
                        .unwrap(),
                )
                .away_all_day
            })
            .count();
        assert!((10..=55).contains(&away), "{away} away days in 1000");
    }

    #[test]
    fn days_since_epoch_is_the_civil_count() {
        assert_eq!(days_since_epoch(Date::new(1970, 1, 1).unwrap()), 0);
        assert_eq!(days_since_epoch(Date::new(2000, 3, 1).unwrap()), 11_017);
        assert_eq!(days_since_epoch(Date::new(1969, 12, 31).unwrap()), -1);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = OccupancyParams {
            occupants: 0,
            ..OccupancyParams::default()
        };
        assert_eq!(bad.validate().unwrap_err().name, "occupants");
        let backwards = OccupancyParams {
            return_h: 7.0,
            ..OccupancyParams::default()
        };
        assert_eq!(backwards.validate().unwrap_err().name, "return_h");
    }
}
