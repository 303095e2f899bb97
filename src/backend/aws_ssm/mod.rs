//! The AWS Systems Manager fleet (issue 14): managed instances, Patch Manager patch
//! groups and states, Run Command `AWS-RunPatchBaseline` commands.
//!
//! - `fake`: a fake SSM on 127.0.0.1 for tests and demos.
//!
//! Nothing here reaches into `api` or `app`.

pub mod fake;
