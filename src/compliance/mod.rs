//! Compliance, computed in one place for any backend: from the hosts and patches a
//! Backend lists (what each host has installed, when it was verified, each patch's
//! `released_at`) and a [`CompliancePolicy`], how compliant the fleet is, which hosts
//! are past the line and by how far, with breakdowns by ring, site, severity and patch.
//! Pure: the server ([`crate::api::server`]) caches it per event sequence and serves it
//! as `GET /v1/compliance`; `patchdeck report` prints it.
//!
//! The rules (docs/api.md says them for callers):
//! - A patch of a counted severity *applies* to a host that has it installed or runs its
//!   product (has some other patch of the same `product` installed).
//! - It is *satisfied* where it is installed, or (`count_superseding`) where a patch
//!   superseding it, directly or through others, is installed.
//! - It is *due* `within_days` after its release; a host is *past the line* when a patch
//!   that applies to it is not satisfied after it is due (exactly at the due time is
//!   still within). Days past count from the earliest missed due time.
//! - A host under an exception that has not expired is *excluded*: counted apart, not
//!   measured (neither compliant nor past the line); an expired exception excuses
//!   nothing. An exception for one patch (a host and patch) excuses that patch alone:
//!   the host is measured on the others. Percent compliant is of the measured hosts.
//! - A patch's release-to-verified time on a host is from its release to the first
//!   time the host was verified (state `succeeded`) at or after the release, while it
//!   has the patch installed: a success whose note names the patch's KB, else the
//!   first before any patch superseding it was released.

mod compute;
mod policy;
mod types;

#[cfg(test)]
mod tests;

pub use compute::{HostFacts, compute, verified};
pub use policy::{CompliancePolicy, MAX_WITHIN_DAYS};
pub use types::{
    Breakdown, Compliance, Missing, PastLine, PatchCompliance, SeverityCompliance, Verified,
};
