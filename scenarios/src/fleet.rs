//! Drawing the fleet: each home's account, location, archetype, equipment,
//! occupants and credentials, from its own seeded stream — so a home is the
//! same home whatever the fleet size or thread count.

use hvac_models::equipment::{EquipmentParams, SystemKind};
use hvac_models::home::{Archetype, HomeParams};
use hvac_models::occupancy::{Lifestyle, OccupancyParams};
use rand::RngExt;
use sim_core::{SimRng, stream};

use api_server::thermostat::Mode;

use crate::load::Invalid;
use crate::schema::{Fleet, Scenario};
use crate::validate::weights;

/// One home as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeSpec {
    /// Index in the fleet.
    pub index: usize,
    /// The account group (index into `Scenario::accounts`).
    pub group: usize,
    /// The server account (index into the run's [`Tenant`]s), set by
    /// [`tenants`].
    pub account: usize,
    /// Location index (into `fleet.locations`).
    pub location: usize,
    /// Archetype.
    pub archetype: Archetype,
    /// Envelope and gains.
    pub params: HomeParams,
    /// Equipment.
    pub equipment: EquipmentParams,
    /// Occupants' routine.
    pub occupancy: OccupancyParams,
    /// Whether the thermostat is a Zigbee hub.
    pub hub: bool,
    /// Device id.
    pub device_id: String,
    /// Device API key.
    pub api_key: String,
    /// The thermostat's AURRA client id (diagnostics).
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The thermostat mode the homeowner set at installation.
    pub mode: Mode,
}

/// The fleet's weighted choices as types: `[fleet]`'s archetype, equipment
/// and lifestyle names, checked once (an unknown name is an error naming
/// the key; nothing falls back to a default), in the file's map order
/// (by name), which fixes how each home's draw maps to a choice.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetMix {
    archetypes: Vec<(Archetype, f64)>,
    equipment: Vec<(SystemKind, f64)>,
    lifestyles: Vec<(Lifestyle, f64)>,
    mode: Mode,
}

impl FleetMix {
    /// The typed choices of `fleet`, or the first bad name or weight.
    pub(crate) fn new(fleet: &Fleet) -> Result<FleetMix, Invalid> {
        Ok(FleetMix {
            archetypes: weights(
                "fleet.archetypes",
                &fleet.archetypes,
                &Archetype::ALL,
                |a| a.as_str(),
            )?,
            equipment: weights("fleet.equipment", &fleet.equipment, &SystemKind::ALL, |k| {
                k.as_str()
            })?,
            lifestyles: weights(
                "fleet.lifestyles",
                &fleet.lifestyles,
                &Lifestyle::ALL,
                |l| l.as_str(),
            )?,
            mode: Mode::parse(&fleet.mode).ok_or_else(|| Invalid {
                key: "fleet.mode".into(),
                message: format!(
                    "{:?} is not a mode; expected one of {}",
                    fleet.mode,
                    Mode::NAMES.join(", ")
                ),
            })?,
        })
    }
}

/// Picks one of `weights` with probability proportional to its weight (the
/// last one if rounding leaves the draw past the end).
fn pick<T: Copy>(weights: &[(T, f64)], rng: &mut SimRng) -> T {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f64>() * total;
    for &(choice, w) in weights {
        if x < w {
            return choice;
        }
        x -= w;
    }
    // A valid mix is never empty.
    weights[weights.len() - 1].0
}

fn pick_index(weights: impl Iterator<Item = f64> + Clone, rng: &mut SimRng) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if w > 0.0 {
            last = i;
        }
        if x < w {
            return i;
        }
        x -= w;
    }
    last
}

fn hex128(rng: &mut SimRng) -> String {
    format!("{:016x}{:016x}", rng.random::<u64>(), rng.random::<u64>())
}

/// Sizes equipment to a home: about 35 W/m² of cooling (a common rule of
/// thumb, ACCA Manual J ranges 25–45 W/m²), between 1.5 and 5 tons.
fn equipment_for(kind: SystemKind, params: &HomeParams) -> EquipmentParams {
    let capacity_w = (params.floor_area_m2 * 35.0).clamp(5_275.0, 17_585.0);
    EquipmentParams {
        kind,
        rated_cooling_w: capacity_w,
        rated_heating_w: capacity_w,
        ..EquipmentParams::default()
    }
}

/// Draws home `index` of scenario `s` with the fleet's typed choices `mix`.
pub(crate) fn home(s: &Scenario, mix: &FleetMix, index: usize) -> HomeSpec {
    let mut rng = stream(s.seed, index as u64, "fleet");
    let group = pick_index(s.accounts.iter().map(|a| a.share), &mut rng);
    let location = pick_index(s.fleet.locations.iter().map(|l| l.weight), &mut rng);
    let archetype = pick(&mix.archetypes, &mut rng);
    let kind = pick(&mix.equipment, &mut rng);
    let lifestyle = pick(&mix.lifestyles, &mut rng);
    let occupants = 1 + (rng.random::<f64>() * 4.0) as u32;
    let hub = rng.random::<f64>() < s.fleet.hub_share;
    let params = archetype.draw(s.fleet.parameter_spread, &mut rng);
    let mut keys = stream(s.seed, index as u64, "credentials");
    HomeSpec {
        index,
        group,
        account: group,
        location,
        archetype,
        equipment: equipment_for(kind, &params),
        params,
        occupancy: OccupancyParams {
            occupants,
            lifestyle,
            ..OccupancyParams::default()
        },
        hub,
        device_id: format!("home-{index:05}"),
        api_key: format!("dk_{}", hex128(&mut keys)),
        client_id: format!("fw-{index:05}"),
        client_secret: format!("sk_{}", hex128(&mut keys)),
        mode: mix.mode,
    }
}

/// A server account of the run: a group's homes, or a slice of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The account group (index into `Scenario::accounts`).
    pub group: usize,
    /// The account's name on the server.
    pub name: String,
}

/// Splits each group's homes (in fleet order) into accounts of
/// `homes_per_account`, sets each home's `account`, and returns the
/// accounts in creation order (groups in file order, then slices).
pub fn tenants(s: &Scenario, homes: &mut [HomeSpec]) -> Vec<Tenant> {
    let mut tenants = Vec::new();
    for (g, spec) in s.accounts.iter().enumerate() {
        let per = spec
            .homes_per_account
            .map_or(usize::MAX, |n| n.max(1) as usize);
        let first = tenants.len();
        for (rank, h) in homes.iter_mut().filter(|h| h.group == g).enumerate() {
            let slice = rank / per;
            while tenants.len() <= first + slice {
                let k = tenants.len() - first;
                let name = if per == usize::MAX {
                    spec.name.clone()
                } else {
                    format!("{}-{k:05}", spec.name)
                };
                tenants.push(Tenant { group: g, name });
            }
            h.account = first + slice;
        }
        if tenants.len() == first {
            // A group without homes still exists on the server.
            tenants.push(Tenant {
                group: g,
                name: spec.name.clone(),
            });
        }
    }
    tenants
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(homes: u32) -> Scenario {
        crate::parse_str(
            &format!("name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n[fleet]\nhomes = {homes}\nhub_share = 0.5\n"),
            Path::new("."),
        )
        .unwrap()
    }

    fn draw(s: &Scenario, i: usize) -> HomeSpec {
        home(s, &FleetMix::new(&s.fleet).unwrap(), i)
    }

    #[test]
    fn the_mix_is_typed_once_and_an_unknown_name_is_an_error_not_a_default() {
        let mut s = scenario(10);
        s.fleet.archetypes = [("castle".to_owned(), 1.0)].into_iter().collect();
        let e = FleetMix::new(&s.fleet).unwrap_err();
        assert_eq!(e.key, "fleet.archetypes.castle");
        assert_eq!(
            e.message,
            "unknown name; expected one of apartment, townhouse, older_detached, new_detached"
        );
        // The mode too: named with the allowed list, never defaulted.
        s.fleet.archetypes = scenario(10).fleet.archetypes;
        s.fleet.mode = "heat_cool".into();
        let e = FleetMix::new(&s.fleet).unwrap_err();
        assert_eq!(e.key, "fleet.mode");
        assert_eq!(
            e.message,
            "\"heat_cool\" is not a mode; expected one of heat, cool, auto, off"
        );
        s.fleet.mode = "cool".into();
        // Only the weighted choices are drawn.
        s.fleet.archetypes = [("townhouse".to_owned(), 2.0), ("apartment".to_owned(), 0.0)]
            .into_iter()
            .collect();
        s.fleet.equipment = [("ac_gas_furnace".to_owned(), 1.0)].into_iter().collect();
        s.fleet.lifestyles = [("home_all_day".to_owned(), 1.0)].into_iter().collect();
        let mix = FleetMix::new(&s.fleet).unwrap();
        for i in 0..50 {
            let h = home(&s, &mix, i);
            assert_eq!(h.archetype, Archetype::Townhouse);
            assert_eq!(h.equipment.kind, SystemKind::AcGasFurnace);
            assert_eq!(h.occupancy.lifestyle, Lifestyle::HomeAllDay);
            assert_eq!(h.mode, Mode::Cool);
        }
    }

    #[test]
    fn a_home_does_not_depend_on_the_fleet_size() {
        let small = scenario(10);
        let large = scenario(1_000);
        for i in 0..10 {
            assert_eq!(draw(&small, i), draw(&large, i));
        }
        assert_ne!(draw(&small, 1).api_key, draw(&small, 2).api_key);
    }

    #[test]
    fn groups_split_into_accounts_of_the_asked_size() {
        let s = crate::parse_str(
            "name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n[fleet]\nhomes = 25\n[[accounts]]\nname = \"own\"\nhomes_per_account = 4\n[[accounts]]\nname = \"shared\"\n",
            Path::new("."),
        )
        .unwrap();
        let mut homes: Vec<HomeSpec> = (0..25).map(|i| draw(&s, i)).collect();
        let t = tenants(&s, &mut homes);
        let own = homes.iter().filter(|h| h.group == 0).count();
        assert_eq!(t.iter().filter(|x| x.group == 0).count(), own.div_ceil(4));
        assert_eq!(t.iter().filter(|x| x.group == 1).count(), 1);
        assert_eq!(t[0].name, "own-00000");
        assert_eq!(t.last().unwrap().name, "shared");
        for (a, tenant) in t.iter().enumerate() {
            let members = homes.iter().filter(|h| h.account == a).count();
            assert!(members >= 1 && (tenant.group == 1 || members <= 4));
            assert!(
                homes
                    .iter()
                    .filter(|h| h.account == a)
                    .all(|h| h.group == tenant.group)
            );
        }
    }

    #[test]
    fn the_mixes_follow_their_weights() {
        let s = scenario(2_000);
        let homes: Vec<HomeSpec> = (0..2_000).map(|i| draw(&s, i)).collect();
        let share = |f: &dyn Fn(&HomeSpec) -> bool| {
            homes.iter().filter(|h| f(h)).count() as f64 / homes.len() as f64
        };
        // Defaults: heat pumps 0.5, older detached 0.3, hubs 0.5.
        assert!((share(&|h| h.equipment.kind == SystemKind::HeatPump) - 0.5).abs() < 0.04);
        assert!((share(&|h| h.archetype == Archetype::OlderDetached) - 0.3).abs() < 0.04);
        assert!((share(&|h| h.hub) - 0.5).abs() < 0.04);
        assert!(homes.iter().all(|h| h.equipment.validate().is_ok()));
    }
}
