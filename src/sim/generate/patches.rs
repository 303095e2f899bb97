//! This month's and last month's patches, and which hosts each applies to.

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::Rng;

use crate::model::{Patch, PatchKind, Severity};
use crate::sim::Scenario;
use crate::sim::engine::Applies;

use super::{Builder, ZERO_DAY_CVE_NUMBER, previous_month, second_tuesday};

impl Builder {
    pub(super) fn cves(&mut self, year: i32, count: usize) -> Vec<String> {
        let mut list: Vec<String> = (0..count)
            .map(|_| format!("CVE-{year}-{}", self.e.rng.random_range(20000..60000)))
            .collect();
        list.sort();
        list.dedup();
        list
    }

    pub(super) fn patches(&mut self, pt: DateTime<Utc>) {
        let month_index = pt.year() * 12 + pt.month0() as i32;
        let kb = |index: i32, n: i32| 5_000_000 + (index.rem_euclid(1000)) * 100 + n;
        let (py, pm) = previous_month(pt.year(), pt.month());
        let prev_pt = second_tuesday(py, pm);
        let label = pt.format("%Y-%m").to_string();
        let prev_label = prev_pt.format("%Y-%m").to_string();
        let year = pt.year();
        let prev_cu = kb(month_index - 1, 1);
        let cu = kb(month_index, 1);
        let cu_cves = {
            let n = self.rng().random_range(4..8);
            self.cves(year, n)
        };
        let prev_cves = {
            let n = self.rng().random_range(4..8);
            self.cves(py, n)
        };
        let net_cves = self.cves(year, 2);
        let office_cves = self.cves(year, 2);
        let edge_cves = self.cves(year, 3);
        let edge_major = 100 + month_index.rem_euclid(60);
        let patch = |id: String,
                     kb: String,
                     title: String,
                     product: &str,
                     kind: PatchKind,
                     severity: Severity,
                     released_at: DateTime<Utc>,
                     cves: Vec<String>,
                     reboot_required: bool,
                     uninstallable: bool,
                     supersedes: Vec<String>| Patch {
            id,
            kb,
            title,
            product: product.into(),
            kind,
            severity,
            released_at,
            cves,
            exploited_cves: Vec::new(),
            reboot_required,
            uninstallable,
            supersedes,
            version: 1,
        };
        let list = vec![
            (
                patch(
                    format!("kb{prev_cu}"),
                    format!("KB{prev_cu}"),
                    format!(
                        "{prev_label} Cumulative Update for Windows (servicing stack included)"
                    ),
                    "Windows",
                    PatchKind::CumulativeUpdate,
                    Severity::Critical,
                    prev_pt,
                    prev_cves,
                    true,
                    false,
                    vec![format!("kb{}", kb(month_index - 2, 1))],
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{cu}"),
                    format!("KB{cu}"),
                    format!("{label} Cumulative Update for Windows (servicing stack included)"),
                    "Windows",
                    PatchKind::CumulativeUpdate,
                    Severity::Critical,
                    pt,
                    cu_cves,
                    true,
                    false,
                    vec![format!("kb{prev_cu}")],
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{}", cu + 1),
                    format!("KB{}", cu + 1),
                    format!("{label} Cumulative Update for .NET Framework 3.5 and 4.8.1"),
                    ".NET Framework",
                    PatchKind::Rollup,
                    Severity::Important,
                    pt,
                    net_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{}", cu + 2),
                    format!("KB{}", cu + 2),
                    format!("{label} security update for Microsoft 365 Apps"),
                    "Microsoft 365 Apps",
                    PatchKind::Application,
                    Severity::Important,
                    pt,
                    office_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::Workstations,
            ),
            (
                patch(
                    format!("edge-{edge_major}"),
                    format!("Edge {edge_major}.0.3595.53"),
                    format!("Microsoft Edge {edge_major} stable channel security update"),
                    "Microsoft Edge",
                    PatchKind::Application,
                    Severity::Important,
                    pt - Duration::days(4),
                    edge_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::Workstations,
            ),
            (
                patch(
                    format!("sp{}", 150_000 + month_index.rem_euclid(10_000)),
                    format!("SP{}", 150_000 + month_index.rem_euclid(10_000)),
                    "Contoso Book graphics driver 32.0.101.6881".into(),
                    "Contoso drivers",
                    PatchKind::Driver,
                    Severity::Moderate,
                    pt - Duration::days(6),
                    Vec::new(),
                    true,
                    true,
                    Vec::new(),
                ),
                Applies::ModelPrefix("Contoso Book".into()),
            ),
        ];
        for (p, applies) in list {
            self.e.patches.push(p);
            self.e.applies.push(applies);
        }
        if self.e.scenario == Scenario::ZeroDay {
            let oob = kb(month_index, 50);
            let cve = format!("CVE-{}-{ZERO_DAY_CVE_NUMBER}", self.t.year());
            self.e.patches.push(Patch {
                id: format!("kb{oob}"),
                kb: format!("KB{oob}"),
                title: format!("Out-of-band security update for Windows ({cve}, exploited)"),
                product: "Windows".into(),
                kind: PatchKind::Hotfix,
                severity: Severity::Critical,
                released_at: self.t,
                cves: vec![cve.clone()],
                exploited_cves: vec![cve],
                reboot_required: true,
                uninstallable: true,
                supersedes: Vec::new(),
                version: 1,
            });
            self.e.applies.push(Applies::All);
        }
    }
}
