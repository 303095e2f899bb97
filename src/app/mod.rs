//! App state, messages and the pure `update(state, msg) -> effects`. No I/O, no drawing.
//!
//! Terminal keys, sync updates from the API client, timer ticks and the results of
//! effects all arrive as `Msg`s on one channel; `update` changes the state and returns
//! `Effect`s that the runner (src/console.rs) executes.
//!
//! - [`state`]: the `App` and what it holds; [`msg`]: `Msg` and `Effect`;
//! - [`update`]: one message applied; [`navigation`]: lists, cursors, screens;
//! - [`mouse`]: the wheel and clicks, where the view says they land;
//! - [`command`]: the `:` line; [`target`]: what a key acts on, and may it;
//! - [`plan`]: an action planned with its blast radius; [`confirm`]: the dialog that
//!   sends it; [`wizard`]: the emergency wizard; [`outcome`]: what came of it;
//! - [`age`]: how old the data on screen is (one rule);
//! - [`compliance`]: the server's compliance figures, the strip and the tab's rows;
//! - [`awaited`]: requests awaiting this identity, and the bell for new ones;
//!   [`notices`]: halts, gates, windows, exploited CVEs...: a bell and a flash each;
//! - [`viewport`]: rows a list shows at the terminal size, what time-dependent parts
//!   of the screen say; [`lists`], [`failures`]: rows derived from the fleet.

pub mod age;
pub mod awaited;
pub mod command;
pub mod compliance;
pub mod confirm;
pub mod exceptions;
pub mod failures;
pub mod host_index;
pub mod link;
pub mod lists;
pub mod mouse;
pub mod msg;
pub mod navigation;
pub mod notices;
pub mod outcome;
pub mod plan;
pub mod records;
pub mod row_keys;
pub mod state;
pub mod target;
pub mod update;
pub mod viewport;
pub mod wizard;
pub mod words;

/// The key vocabulary lives in [`crate::keys`]; this path is kept for the views.
pub use command::{COMMANDS, complete_command};
pub use confirm::{ConfirmDialog, Field, Resend, Stage};
pub use msg::{Effect, Msg};
pub use navigation::{failure_row_key, parse_failure_row_key, selected_hosts, visible_offset};
pub use state::{
    App, Context, Dialog, Flash, ListCursor, ListId, MIN_HEIGHT, MIN_WIDTH, Mode, STALE_AFTER_SECS,
    Screen, SentAction,
};
pub use target::NOT_ON_THIS_FLEET;
pub use update::update;
pub use wizard::{EmergencyWizard, WizardStep};
