//! What each list shows, derived from the fleet: rows in order, filtered. Pure.

use crate::model::{Action, Deployment, Fleet, Host, HostState, Ring};

/// The panes of the main screen, in the order of [`Pane::SPECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Rings,
    Deployments,
    Failed,
    Actions,
    Compliance,
    Exceptions,
}

/// What the console says about a pane, wherever it names it: titles, tabs, empty
/// lists. A new pane is a variant, its entry in [`Pane::SPECS`] and its arm in the
/// view's `ui::panes::view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneSpec {
    pub pane: Pane,
    /// The digit that focuses the pane and numbers its title ("3 Failed hosts").
    pub key: char,
    pub title: &'static str,
    /// The title on a narrow tab bar ("Deploys").
    pub short: &'static str,
    /// What the pane says when it has no rows (and no filter is typed).
    pub empty: &'static str,
    /// One of the tabs under Rings on a small terminal; the others always show.
    pub tabbed: bool,
}

impl Pane {
    /// Every pane, in screen order (Tab order, and the order of the variants).
    pub const SPECS: &'static [PaneSpec] = &[
        PaneSpec {
            pane: Pane::Rings,
            key: '1',
            title: "Rings",
            short: "Rings",
            empty: "no rings",
            tabbed: false,
        },
        PaneSpec {
            pane: Pane::Deployments,
            key: '2',
            title: "Deployments",
            short: "Deploys",
            empty: "no deployments",
            tabbed: true,
        },
        PaneSpec {
            pane: Pane::Failed,
            key: '3',
            title: "Failed hosts",
            short: "Failed",
            empty: "no failed hosts",
            tabbed: true,
        },
        PaneSpec {
            pane: Pane::Actions,
            key: '4',
            title: "Actions",
            short: "Actions",
            empty: "no actions yet",
            tabbed: true,
        },
        PaneSpec {
            pane: Pane::Compliance,
            key: '5',
            title: "Compliance",
            short: "Compliance",
            empty: "no compliance figures yet",
            tabbed: true,
        },
        PaneSpec {
            pane: Pane::Exceptions,
            key: '6',
            title: "Exceptions",
            short: "Exceptions",
            empty: "no exceptions: every host takes every patch",
            tabbed: true,
        },
    ];

    /// How many panes there are (the size of per-pane arrays).
    pub const COUNT: usize = Pane::SPECS.len();

    /// Every pane, in screen order.
    pub const ALL: [Pane; Pane::COUNT] = {
        let mut all = [Pane::Rings; Pane::COUNT];
        let mut i = 0;
        while i < Pane::COUNT {
            // The table is in the order of the variants: a pane's index is its number.
            assert!(Pane::SPECS[i].pane as usize == i);
            all[i] = Pane::SPECS[i].pane;
            i += 1;
        }
        all
    };

    pub fn spec(self) -> &'static PaneSpec {
        &Pane::SPECS[self.index()]
    }

    pub fn title(self) -> &'static str {
        self.spec().title
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::COUNT]
    }

    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::COUNT - 1) % Pane::COUNT]
    }

    /// One of the four panes a large terminal shows at once; another pane, focused,
    /// takes the place of the bottom two there.
    pub fn in_wide_grid(self) -> bool {
        matches!(
            self,
            Pane::Rings | Pane::Deployments | Pane::Failed | Pane::Actions
        )
    }

    /// The panes of the tab group under Rings on a small terminal, in order.
    pub fn tabs() -> impl Iterator<Item = Pane> {
        Pane::ALL.into_iter().filter(|p| p.spec().tabbed)
    }
}

/// Case-insensitive match of a filter against some fields.
pub fn matches(filter: &str, fields: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    if filter.is_ascii() {
        // The common case, without allocating per field: filtering 100k hosts per key.
        let needle = filter.as_bytes();
        return fields.iter().any(|f| {
            f.as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle))
        });
    }
    let needle = filter.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}

pub fn ring_matches(ring: &Ring, filter: &str) -> bool {
    matches(
        filter,
        &[
            &ring.name,
            &ring.id,
            ring.site.as_deref().unwrap_or(""),
            ring.state.as_str(),
        ],
    )
}

pub fn deployment_matches(deployment: &Deployment, fleet: &Fleet, filter: &str) -> bool {
    let kbs: Vec<&str> = deployment
        .patch_ids
        .iter()
        .map(|id| fleet.patches.get(id).map_or(id.as_str(), |p| p.kb.as_str()))
        .collect();
    matches(filter, &[&deployment.name, &deployment.id, &kbs.join(" ")])
}

pub fn action_matches(action: &Action, filter: &str) -> bool {
    matches(
        filter,
        &[
            action.verb.as_str(),
            &action.target_name,
            &action.by,
            action.reason.as_deref().unwrap_or(""),
            action.ticket.as_deref().unwrap_or(""),
        ],
    )
}

pub fn host_matches(host: &Host, filter: &str) -> bool {
    matches(
        filter,
        &[
            &host.name,
            &host.model,
            &host.site,
            &host.ring_id,
            host.state.as_str(),
            host.failure.as_ref().map_or("", |f| f.code.as_str()),
            host.group_id.as_deref().unwrap_or(""),
        ],
    )
}

/// Deployments in the order the pane shows them: in flight first, newest first.
pub fn deployments_in_order(fleet: &Fleet) -> Vec<&Deployment> {
    let mut deployments: Vec<&Deployment> = fleet.deployments.values().collect();
    deployments.sort_by(|a, b| {
        b.emergency
            .cmp(&a.emergency)
            .then_with(|| b.state.is_active().cmp(&a.state.is_active()))
            .then_with(|| b.created_at.cmp(&a.created_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    deployments
}

/// Actions newest first: by when they were taken, then by id (whatever the server's
/// ids look like).
pub fn actions_in_order(fleet: &Fleet) -> Vec<&Action> {
    let mut actions: Vec<&Action> = fleet.actions.values().collect();
    actions.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    actions
}

/// A host list opened with `:hosts`: which hosts it shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFilter {
    pub state: Option<HostState>,
    pub ring: Option<String>,
    pub error: Option<String>,
}

impl HostFilter {
    pub fn admits(&self, host: &Host) -> bool {
        self.state.is_none_or(|s| host.state == s)
            && self.ring.as_ref().is_none_or(|r| &host.ring_id == r)
            && self
                .error
                .as_ref()
                .is_none_or(|code| host.failure.as_ref().is_some_and(|f| &f.code == code))
    }

    /// "failed in Pilot" style title.
    pub fn describe(&self, fleet: &Fleet) -> String {
        let mut parts = Vec::new();
        if let Some(state) = self.state {
            parts.push(state.as_str().to_string());
        }
        parts.push("hosts".into());
        if let Some(code) = &self.error {
            parts.push(format!("with {code}"));
        }
        if let Some(ring) = &self.ring {
            let name = fleet
                .rings
                .get(ring)
                .map_or(ring.as_str(), |r| r.name.as_str());
            parts.push(format!("in {name}"));
        }
        let mut text = parts.join(" ");
        if let Some(first) = text.get(0..1) {
            text = first.to_uppercase() + &text[1..];
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn filter_matches_any_field_ignoring_case() {
        assert!(matches("", &["anything"]));
        assert!(matches("lon-lt", &["x", "LON-LT-00042"]));
        assert!(!matches("nyc", &["LON-LT-00042", "Wave 2"]));
        assert!(matches("wave 2", &["Wave 2: EMEA"]));
        assert!(matches("émea", &["ÉMEA"]));
        assert!(!matches("longer than the field", &["short"]));
    }
}
