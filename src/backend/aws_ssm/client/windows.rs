//! The maintenance-window reads: windows (`DescribeMaintenanceWindows`) and what each
//! targets (`DescribeMaintenanceWindowTargets`), every page, as plain `wire` records.

use super::{SsmClient, SsmError, classify};
use crate::backend::aws_ssm::wire::{Window, WindowTarget, window_time};

impl SsmClient {
    /// Every maintenance window of the account and region (`DescribeMaintenanceWindows`,
    /// `MaxResults` 100, all pages), enabled or not.
    pub async fn windows(&self) -> Result<Vec<Window>, SsmError> {
        let request = self.inner.describe_maintenance_windows().max_results(100);
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for w in page.map_err(classify)?.window_identities() {
                out.push(Window {
                    id: w.window_id().unwrap_or_default().to_string(),
                    name: w.name().unwrap_or_default().to_string(),
                    enabled: w.enabled(),
                    schedule: w.schedule().unwrap_or_default().to_string(),
                    time_zone: w
                        .schedule_timezone()
                        .filter(|z| !z.is_empty())
                        .map(String::from),
                    schedule_offset: w.schedule_offset(),
                    duration_hours: w.duration().unwrap_or(0),
                    cutoff_hours: w.cutoff(),
                    next_execution: w.next_execution_time().and_then(window_time),
                });
            }
        }
        Ok(out)
    }

    /// The targets registered with window `window_id`
    /// (`DescribeMaintenanceWindowTargets`, `MaxResults` 100, all pages).
    pub async fn window_targets(&self, window_id: &str) -> Result<Vec<WindowTarget>, SsmError> {
        let request = self
            .inner
            .describe_maintenance_window_targets()
            .window_id(window_id)
            .max_results(100);
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = next_page!(self, pages) {
            for t in page.map_err(classify)?.targets() {
                out.push(WindowTarget {
                    window_id: t.window_id().unwrap_or_default().to_string(),
                    target_id: t.window_target_id().unwrap_or_default().to_string(),
                    resource_type: t.resource_type().map_or("", |r| r.as_str()).to_string(),
                    targets: t
                        .targets()
                        .iter()
                        .map(|k| (k.key().unwrap_or_default().to_string(), k.values().to_vec()))
                        .collect(),
                });
            }
        }
        Ok(out)
    }
}
