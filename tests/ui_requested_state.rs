//! A state asked for and not reached yet (an SSM halt: the cancel is sent while
//! invocations still run) is shown beside the state the fleet is in, never as if done.

mod common;

use crossterm::event::KeyCode;

use common::*;
use patchdeck::model::{DeploymentState, Role};
use patchdeck::sim::Scenario;

#[test]
fn a_requested_halt_not_reached_yet_reads_halting_and_says_so_in_the_detail() {
    let mut fleet = fleet_of(&*simulator(Scenario::PatchTuesday, 4 * 3600));
    let deployment = fleet
        .deployments
        .values_mut()
        .find(|d| d.state == DeploymentState::Running)
        .expect("a running deployment");
    deployment.requested_state = Some(DeploymentState::Halted);
    let id = deployment.id.clone();
    let mut app = console_with(fleet, demo_context(), Role::Approver);
    press(&mut app, KeyCode::Char('2'));
    for _ in 0..app.row_keys(app.active_list().expect("a list")).len() {
        if app
            .selected_key(app.active_list().expect("a list"))
            .as_deref()
            == Some(id.as_str())
        {
            break;
        }
        press(&mut app, KeyCode::Char('j'));
    }
    let list = screen(&mut app, 120, 40);
    assert!(list.contains("halting"), "{list}");
    assert!(!list.contains("HALTED"), "not halted yet: {list}");
    press(&mut app, KeyCode::Enter);
    let detail = screen(&mut app, 120, 40);
    assert!(
        detail.contains("running; halt requested, not reached yet"),
        "{detail}"
    );
}
