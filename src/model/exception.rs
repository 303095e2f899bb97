//! Exceptions: a documented reason not to patch a host (or one patch on it), with an
//! owner, a compensating control and an end; their terms, renewals and the cap on
//! how long they run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Days an exception may run (from now) unless the server is configured otherwise
/// (`serve --exception-max-days`, the config's `exception_max_days`).
pub const DEFAULT_EXCEPTION_MAX_DAYS: u32 = 90;

/// Exceptions this close to their expiry are marked as near it.
pub const EXCEPTION_NEAR_DAYS: i64 = 7;

/// A documented exception: this host (or this host for one patch) must not be patched,
/// until it expires or is revoked. An expired exception stays on the host, marked
/// (`lapsed_at`), until it is renewed, revoked or replaced: the host is back in the
/// queue meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// A person or a team ("lab-it@contoso.example").
    pub owner: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub compensating_control: String,
    /// Scope: none, every patch (the host is excluded); a patch id, only that patch
    /// (the host stays in the queue for the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_id: Option<String>,
    /// Who granted it, and when (empty and none in records older than these fields).
    #[serde(default)]
    pub granted_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_at: Option<DateTime<Utc>>,
    /// Each renewal, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renewals: Vec<Renewal>,
    /// When the fleet enforced its expiry (the host went back to the queue); none while
    /// it is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsed_at: Option<DateTime<Utc>>,
}

/// An exception's expiry moved by a renewal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Renewal {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    #[serde(default)]
    pub ticket: Option<String>,
    /// The expiry before, and the new one.
    pub from: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What an exclude or a renew asks for besides its reason and ticket (and, for an
/// exclude scoped to one patch, the request's `patch_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionTerms {
    /// Exclude: a person or a team; none: the one who grants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Exclude: what protects the host meanwhile (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensating_control: Option<String>,
    /// Exclude and renew: when it ends (required). A gateway turns days into the time
    /// they end at before the fleet acts (and before its journal keeps the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Expiry>,
}

impl ExceptionTerms {
    pub fn is_empty(&self) -> bool {
        self == &ExceptionTerms::default()
    }
}

/// When an exception ends, as the operator gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expiry {
    /// This many days from the moment it is granted or renewed.
    Days(u32),
    At(DateTime<Utc>),
}

impl Expiry {
    /// Days ("30", "30d"), a date ("2027-01-15": 00:00 UTC that day) or an RFC 3339
    /// time.
    pub fn parse(text: &str) -> Result<Expiry, String> {
        let text = text.trim();
        let days = text.strip_suffix('d').unwrap_or(text).trim();
        if let Ok(days) = days.parse::<i64>() {
            return u32::try_from(days)
                .ok()
                .filter(|&d| d > 0)
                .map(Expiry::Days)
                .ok_or_else(|| format!("the expiry must be some days ahead, not {days}"));
        }
        if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(Expiry::At(date.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Expiry::At(time.with_timezone(&Utc)));
        }
        Err(format!(
            "cannot read the expiry `{}`: give days (30) or a date (2027-01-15)",
            text.chars().take(40).collect::<String>()
        ))
    }

    /// The time it ends, granted at fleet time `now`.
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Expiry::Days(days) => now + chrono::Duration::days(i64::from(days)),
            Expiry::At(at) => at,
        }
    }

    /// As [`Expiry::parse`] reads it back: "30d", or the time in RFC 3339.
    pub fn to_text(self) -> String {
        match self {
            Expiry::Days(days) => format!("{days}d"),
            Expiry::At(at) => at.to_rfc3339(),
        }
    }
}

/// How long an exception may run: a gateway's setting, applied when it is granted or
/// renewed (never when the journal is replayed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionPolicy {
    /// Days from now, at most.
    pub max_days: u32,
}

impl Default for ExceptionPolicy {
    fn default() -> Self {
        ExceptionPolicy {
            max_days: DEFAULT_EXCEPTION_MAX_DAYS,
        }
    }
}

impl ExceptionPolicy {
    /// The time `expiry` ends at fleet time `now`, refused when it is not in the future
    /// or lies beyond the cap (the message says the cap).
    pub fn resolve(&self, expiry: Expiry, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        let at = expiry.at(now);
        if at <= now {
            return Err(format!(
                "the expiry {} is not in the future",
                at.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        let cap = now + chrono::Duration::days(i64::from(self.max_days));
        if at > cap {
            return Err(format!(
                "the expiry {} is beyond the cap: exceptions run at most {} days (until {})",
                at.format("%Y-%m-%d"),
                self.max_days,
                cap.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        Ok(at)
    }
}

/// Where an exception stands at a point of fleet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExceptionStanding {
    /// Expired: an expired exception excuses nothing.
    Expired,
    /// In force, expiring within [`EXCEPTION_NEAR_DAYS`].
    NearExpiry,
    InForce,
}

impl ExceptionStanding {
    pub const ALL: [ExceptionStanding; 3] = [
        ExceptionStanding::Expired,
        ExceptionStanding::NearExpiry,
        ExceptionStanding::InForce,
    ];

    /// The word used in the API ("near-expiry").
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStanding::Expired => "expired",
            ExceptionStanding::NearExpiry => "near-expiry",
            ExceptionStanding::InForce => "in-force",
        }
    }
}

impl Exception {
    /// Whether it still excuses the host at fleet time `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.lapsed_at.is_none() && self.expires_at > now
    }

    pub fn standing(&self, now: DateTime<Utc>) -> ExceptionStanding {
        if !self.in_force(now) {
            ExceptionStanding::Expired
        } else if self.expires_at - now < chrono::Duration::days(EXCEPTION_NEAR_DAYS) {
            ExceptionStanding::NearExpiry
        } else {
            ExceptionStanding::InForce
        }
    }

    /// Whether it covers every patch (the host is excluded) rather than one.
    pub fn is_host_wide(&self) -> bool {
        self.patch_id.is_none()
    }

    /// Whether, in force at `now`, it keeps `patch_id` off the host.
    pub fn holds_back(&self, patch_id: &str, now: DateTime<Utc>) -> bool {
        self.in_force(now) && self.patch_id.as_deref().is_none_or(|p| p == patch_id)
    }
}
