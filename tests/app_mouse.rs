//! The mouse through `update`: the wheel scrolls the list, help or dialog under the
//! pointer, a click focuses a pane, selects a row, opens the selected row, switches tab;
//! nothing while the mouse is off; `M` turns it on and off and tells the runner. Where a
//! click lands comes from `ui::spot_at`, checked here against the screen as drawn.

mod common;

use crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::style::Modifier;

use common::*;
use patchdeck::app::lists::Pane;
use patchdeck::app::viewport::main_layout;
use patchdeck::app::{App, Dialog, Effect, ListId, Msg, Screen, update};

/// The standard console at 80x24 with the mouse on, its clicks found as the view draws.
fn mouse_console() -> App {
    let mut app = console();
    app.spot_at = patchdeck::ui::spot_at;
    app.mouse = true;
    app
}

fn mouse(app: &mut App, kind: MouseEventKind, column: u16, row: u16) -> Vec<Effect> {
    update(
        app,
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    )
}

fn click(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    mouse(app, MouseEventKind::Down(MouseButton::Left), column, row)
}

fn wheel_down(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    mouse(app, MouseEventKind::ScrollDown, column, row)
}

fn wheel_up(app: &mut App, column: u16, row: u16) -> Vec<Effect> {
    mouse(app, MouseEventKind::ScrollUp, column, row)
}

/// Where a pane is drawn at the app's size.
fn pane_area(app: &App, pane: Pane) -> Rect {
    main_layout(app, Rect::new(0, 0, app.width, app.height))
        .panes
        .into_iter()
        .find(|(p, _)| *p == pane)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("{pane:?} is not on screen"))
}

/// The screen row and column where `words` are drawn, searched from row `from`.
fn find(app: &mut App, words: &str, from: u16) -> (u16, u16) {
    let screen = screen(app, 80, 24);
    for (y, line) in screen.lines().enumerate().skip(usize::from(from)) {
        if let Some(at) = line.find(words) {
            let column = line[..at].chars().count();
            return (column as u16, y as u16);
        }
    }
    panic!("{words:?} is not on screen:\n{screen}");
}

fn selected(app: &App, list: ListId) -> usize {
    app.cursor(list).selected
}

#[test]
fn the_wheel_moves_the_list_under_the_pointer_three_rows_a_notch() {
    let mut app = mouse_console();
    let rings = pane_area(&app, Pane::Rings);
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.focus, Pane::Actions);
    wheel_down(&mut app, rings.x + 10, rings.y + 4);
    assert_eq!(selected(&app, ListId::Pane(Pane::Rings)), 3);
    wheel_down(&mut app, rings.x + 10, rings.y + 4);
    assert_eq!(
        selected(&app, ListId::Pane(Pane::Rings)),
        6,
        "the last ring"
    );
    wheel_down(&mut app, rings.x + 10, rings.y + 4);
    assert_eq!(
        selected(&app, ListId::Pane(Pane::Rings)),
        6,
        "never past the end"
    );
    wheel_up(&mut app, rings.x + 10, rings.y + 1);
    assert_eq!(selected(&app, ListId::Pane(Pane::Rings)), 3);
    // The wheel scrolls a list without taking the focus from the pane that has it.
    assert_eq!(app.focus, Pane::Actions);
}

#[test]
fn the_wheel_scrolls_the_host_list_and_the_help() {
    let mut app = mouse_console();
    command(&mut app, "hosts");
    assert_eq!(app.active_list(), Some(ListId::Hosts));
    wheel_down(&mut app, 20, 10);
    wheel_down(&mut app, 20, 10);
    assert_eq!(selected(&app, ListId::Hosts), 6);

    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.screen(), Some(&Screen::Help));
    let top = screen(&mut app, 80, 24);
    wheel_down(&mut app, 40, 12);
    assert_eq!(app.help_scroll, 3);
    assert_ne!(screen(&mut app, 80, 24), top, "the help moved");
    wheel_up(&mut app, 40, 12);
    wheel_up(&mut app, 40, 12);
    assert_eq!(app.help_scroll, 0);
    // Over the header or the footer the wheel does nothing.
    wheel_down(&mut app, 40, 0);
    wheel_down(&mut app, 40, 23);
    assert_eq!(app.help_scroll, 0);
}

#[test]
fn a_click_on_a_pane_focuses_it() {
    let mut app = mouse_console();
    assert_eq!(app.focus, Pane::Rings);
    let lower = pane_area(&app, Pane::Failed);
    // Its bottom border: no row there.
    let effects = click(&mut app, lower.x + 5, lower.bottom() - 1);
    assert!(effects.is_empty());
    assert_eq!(app.focus, Pane::Failed);
    let rings = pane_area(&app, Pane::Rings);
    click(&mut app, rings.x, rings.y + 3);
    assert_eq!(app.focus, Pane::Rings);
}

#[test]
fn a_click_on_a_row_selects_it_and_a_second_click_opens_it() {
    let mut app = mouse_console();
    let (x, y) = find(&mut app, "Wave 2: EMEA", 0);
    let effects = click(&mut app, x + 3, y);
    assert!(effects.is_empty());
    let list = ListId::Pane(Pane::Rings);
    let wave2 = app.selected_key(list).expect("a ring is selected");
    assert_eq!(app.fleet.rings[&wave2].name, "Wave 2: EMEA");
    // The row clicked is the row drawn selected.
    let buffer = draw(&mut app, 80, 24);
    let runs = runs_with(&buffer, Modifier::REVERSED);
    assert!(runs.contains(&format!("row {y}: Wave 2: EMEA")), "{runs}");
    assert_eq!(app.screen(), None);
    // Again on the selected row: opened, as Enter.
    click(&mut app, x + 3, y);
    assert_eq!(app.screen(), Some(&Screen::Ring(wave2)));
}

#[test]
fn a_click_in_an_unfocused_pane_focuses_and_selects_without_opening() {
    let mut app = mouse_console();
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('1'));
    assert_eq!(app.focus, Pane::Rings);
    let deployments = pane_area(&app, Pane::Deployments);
    // Narrow deployments take two lines a row: the second line of the second row.
    let row = deployments.y + 2 + 2 + 1;
    let effects = click(&mut app, deployments.x + 4, row);
    assert!(effects.is_empty());
    assert_eq!(app.focus, Pane::Deployments);
    assert_eq!(app.screen(), None, "a first click never opens");
    let list = ListId::Pane(Pane::Deployments);
    assert_eq!(selected(&app, list), 1);
    let second = app.row_keys(list)[1].to_string();
    click(&mut app, deployments.x + 4, row - 1);
    assert_eq!(app.screen(), Some(&Screen::Deployment(second)));
}

#[test]
fn a_click_on_a_tab_switches_to_it() {
    let mut app = mouse_console();
    let lower = pane_area(&app, Pane::Failed);
    let (x, y) = find(&mut app, "4 Actions", lower.y);
    assert_eq!(y, lower.y, "the tabs are on the lower pane's top border");
    click(&mut app, x + 2, y);
    assert_eq!(app.focus, Pane::Actions);
    assert_eq!(app.lower_pane, Pane::Actions);
    let (x, y) = find(&mut app, "2 Deploys", lower.y);
    click(&mut app, x, y);
    assert_eq!(app.focus, Pane::Deployments);
    // Between two tabs: the pane shown, no switch.
    let (x, y) = find(&mut app, " | 3 Failed", lower.y);
    click(&mut app, x + 1, y);
    assert_eq!(app.focus, Pane::Deployments);
}

#[test]
fn the_host_list_selects_and_opens_by_click() {
    let mut app = mouse_console();
    command(&mut app, "hosts");
    // The first host row is under the border and the column header.
    let body = main_layout(&app, Rect::new(0, 0, 80, 24)).body;
    click(&mut app, 10, body.y + 2 + 4);
    assert_eq!(selected(&app, ListId::Hosts), 4);
    let host = app.selected_key(ListId::Hosts).expect("a host");
    let effects = click(&mut app, 10, body.y + 2 + 4);
    assert_eq!(effects, vec![Effect::FetchHost(host.clone())]);
    assert_eq!(app.screen(), Some(&Screen::Host(host)));
}

#[test]
fn a_dialog_takes_no_click_and_the_wheel_scrolls_it() {
    let mut app = mouse_console();
    press(&mut app, KeyCode::Char('2'));
    let effects = press(&mut app, KeyCode::Char('a'));
    answer_plans(&mut app, &standard_simulator(), &effects);
    assert!(matches!(app.dialog, Some(Dialog::Confirm(_))), "a dialog");
    for y in 0..24 {
        for x in (0..80).step_by(7) {
            assert!(click(&mut app, x, y).is_empty());
        }
    }
    assert!(
        matches!(app.dialog, Some(Dialog::Confirm(_))),
        "clicks confirm nothing"
    );
    let max = patchdeck::app::viewport::scroll_max(&app);
    wheel_down(&mut app, 40, 12);
    assert_eq!(app.dialog_scroll, max.min(3));
    wheel_up(&mut app, 40, 12);
    assert_eq!(app.dialog_scroll, 0);
}

#[test]
fn with_the_mouse_off_or_a_line_being_typed_mouse_events_do_nothing() {
    let mut app = mouse_console();
    app.mouse = false;
    let (x, y) = find(&mut app, "Wave 2: EMEA", 0);
    click(&mut app, x, y);
    wheel_down(&mut app, x, y);
    let lower = pane_area(&app, Pane::Failed);
    click(&mut app, lower.x + 5, lower.y + 3);
    assert_eq!(selected(&app, ListId::Pane(Pane::Rings)), 0);
    assert_eq!(app.focus, Pane::Rings);

    app.mouse = true;
    press(&mut app, KeyCode::Char('/'));
    click(&mut app, x, y);
    wheel_down(&mut app, x, y);
    assert_eq!(selected(&app, ListId::Pane(Pane::Rings)), 0);
}

#[test]
fn m_turns_the_mouse_on_and_off_and_tells_the_runner() {
    let mut app = console();
    assert!(!app.mouse, "off by default");
    assert_eq!(
        press(&mut app, KeyCode::Char('M')),
        vec![Effect::MouseCapture(true)]
    );
    assert!(app.mouse);
    assert!(app.flash.as_ref().unwrap().text.contains("Shift-drag"));
    // In the help too, and the help lists the key.
    press(&mut app, KeyCode::Char('?'));
    assert!(screen(&mut app, 200, 50).contains("mouse on/off"));
    assert_eq!(
        press(&mut app, KeyCode::Char('M')),
        vec![Effect::MouseCapture(false)]
    );
    assert!(!app.mouse);
}

#[test]
fn the_footer_says_the_mouse_is_on() {
    let mut app = mouse_console();
    let buffer = draw(&mut app, 80, 24);
    let screen = text(&buffer);
    let footer = screen.lines().last().expect("a footer");
    assert!(
        footer.starts_with("mouse on: M off, Shift-drag selects"),
        "{footer}"
    );
    insta::assert_snapshot!("mouse_on_80x24", annotated(&buffer));
    app.mouse = false;
    assert!(!text(&draw(&mut app, 80, 24)).contains("mouse on"));
}

#[test]
fn at_200x50_each_pane_takes_its_own_clicks() {
    let mut app = mouse_console();
    resize(&mut app, 200, 50);
    let actions = pane_area(&app, Pane::Actions);
    click(&mut app, actions.x + 3, actions.y + 2);
    assert_eq!(app.focus, Pane::Actions);
    // Wide, a deployment takes one line: the second row is the second deployment.
    let deployments = pane_area(&app, Pane::Deployments);
    click(&mut app, deployments.x + 3, deployments.y + 2 + 1);
    assert_eq!(app.focus, Pane::Deployments);
    let list = ListId::Pane(Pane::Deployments);
    assert_eq!(selected(&app, list), 1);
    let buffer = draw(&mut app, 200, 50);
    let runs = runs_with(&buffer, Modifier::REVERSED);
    assert!(
        runs.contains(&format!("row {}: ", deployments.y + 3)),
        "{runs}"
    );
}

#[test]
fn a_second_click_opens_the_row_clicked_whatever_size_the_cursor_last_moved_at() {
    let mut app = mouse_console();
    command(&mut app, "hosts");
    // At the bottom of a tall terminal, then on a short one: the list's window moved.
    resize(&mut app, 80, 40);
    press(&mut app, KeyCode::Char('G'));
    let screen = screen(&mut app, 80, 24);
    let body = main_layout(&app, Rect::new(0, 0, 80, 24)).body;
    let y = body.y + 2;
    let first_shown: String = screen.lines().nth(usize::from(y)).unwrap().into();
    click(&mut app, 10, y);
    let host = app.selected_key(ListId::Hosts).expect("a host");
    assert!(
        first_shown.contains(app.fleet.hosts[host.as_str()].name.as_str()),
        "the host clicked is the one drawn there: {first_shown}"
    );
    let after: String = text(&draw(&mut app, 80, 24))
        .lines()
        .nth(usize::from(y))
        .unwrap()
        .into();
    assert_eq!(
        after.trim_start_matches('│').get(4..20),
        first_shown.trim_start_matches('│').get(4..20),
        "the rows did not move under the pointer"
    );
    let effects = click(&mut app, 10, y);
    assert_eq!(effects, vec![Effect::FetchHost(host)]);
}
