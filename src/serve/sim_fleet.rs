//! The simulated fleet behind `serve`: its settings kept in the store (a store holds one
//! fleet: the same seed, hosts and scenario on every start), and its clock, which the
//! journal drives.

use chrono::{DateTime, Utc};

use crate::api::server::FleetClock;
use crate::sim::{Scenario, SimConfig, Simulator};
use crate::store::{AnyStore, Store};

/// The simulated fleet a gateway is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimFleet {
    pub hosts: usize,
    pub seed: u64,
    pub scenario: Scenario,
}

impl FleetClock for Simulator {
    fn fleet_time(&self) -> DateTime<Utc> {
        self.now()
    }

    fn advance_to(&self, fleet_time: DateTime<Utc>) {
        Simulator::advance_to(self, fleet_time);
    }
}

/// Settings of the simulated fleet in the store.
const SIM_SEED: &str = "sim_seed";
const SIM_HOSTS: &str = "sim_hosts";
const SIM_SCENARIO: &str = "sim_scenario";
const SIM_START_MS: &str = "sim_start_ms";

fn scenario_number(scenario: Scenario) -> i64 {
    match scenario {
        Scenario::PatchTuesday => 0,
        Scenario::BadPatch => 1,
        Scenario::ZeroDay => 2,
    }
}

fn scenario_name(number: i64) -> &'static str {
    match number {
        0 => "patch-tuesday",
        1 => "bad-patch",
        2 => "zero-day",
        _ => "unknown",
    }
}

/// The fleet the store holds: the one of the flags on a new store; on a store that
/// has one, the same seed, hosts and scenario are required (its start time is kept).
pub(super) async fn stored_config(
    store: &AnyStore,
    args: &SimFleet,
) -> color_eyre::Result<SimConfig> {
    let eyre = |error: crate::store::StoreError| color_eyre::eyre::eyre!("{error}");
    let asked = [
        (SIM_SEED, args.seed as i64),
        (SIM_HOSTS, args.hosts as i64),
        (SIM_SCENARIO, scenario_number(args.scenario)),
        (SIM_START_MS, Utc::now().timestamp_millis()),
    ];
    let mut found = Vec::new();
    for (name, value) in asked {
        let value = match store.meta(name).await.map_err(eyre)? {
            Some(value) => value,
            None => store.init_meta(name, value).await.map_err(eyre)?,
        };
        found.push(value);
    }
    let (seed, hosts, scenario, start) = (found[0], found[1], found[2], found[3]);
    if (seed, hosts, scenario) != (asked[0].1, asked[1].1, asked[2].1) {
        color_eyre::eyre::bail!(
            "store {} holds another fleet (--seed {} --hosts {} --scenario {}) than asked (--seed {} --hosts {} --scenario {}): start with the store's flags, or give another --store",
            store.name(),
            seed as u64,
            hosts,
            scenario_name(scenario),
            args.seed,
            args.hosts,
            scenario_name(scenario_number(args.scenario)),
        );
    }
    Ok(SimConfig {
        hosts: args.hosts,
        seed: args.seed,
        scenario: args.scenario,
        start: DateTime::<Utc>::from_timestamp_millis(start).unwrap_or_else(Utc::now),
    })
}
