//! The runner: turns terminal input, sync updates, timer ticks and effect results into
//! `Msg`s on one channel, applies them with the pure `update`, runs the effects, and
//! draws when something changed (at most ~30 frames a second; nothing when idle).

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use std::path::PathBuf;

use crate::api::client::Client;
use crate::api::sync::spawn_sync;
use crate::app::compliance::ComplianceAnswer;
use crate::app::{App, Context, Effect, Msg, update};
use crate::audit;
use crate::backend::SyncUpdate;
use crate::terminal::TerminalGuard;
use crate::ui::{Look, view};

/// Shortest time between two frames.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// How often the clock ticks (the app decides whether a tick changes the screen).
pub const TICK_INTERVAL: Duration = Duration::from_millis(250);

/// Connects the console to another context of the config (`:context NAME`).
pub type ContextSwitcher = Box<dyn Fn(&str) -> Result<(Context, Client), String> + Send>;

/// A running sync: its task and the channel its updates arrive on.
struct Sync {
    task: JoinHandle<()>,
    updates: mpsc::Receiver<SyncUpdate>,
}

fn start_sync(client: Client) -> Sync {
    let (sender, updates) = mpsc::channel(256);
    Sync {
        task: spawn_sync(client, sender),
        updates,
    }
}

/// Run the console until the operator quits or the terminal goes away. Actions sent are
/// recorded in `audit_log` (when there is one).
pub async fn run(
    mut app: App,
    look: Look,
    mut client: Client,
    audit_log: Option<PathBuf>,
    switch_context: ContextSwitcher,
) -> color_eyre::Result<()> {
    let mut terminal = TerminalGuard::enter()?;
    let (width, height) = terminal.size()?;
    app.width = width;
    app.height = height;
    app.spot_at = crate::ui::spot_at;
    if app.mouse {
        terminal.set_mouse(true)?;
    }

    let (messages, mut inbox) = mpsc::channel::<Msg>(4096);
    let mut tasks = Vec::new();

    // The API: list, then watch. Its updates have their own channel, so that switching
    // context drops whatever the old connection still had in flight.
    let mut sync = start_sync(client.clone());

    // The keyboard and the window size.
    let to_app = messages.clone();
    let (input_closed_tx, mut input_closed) = tokio::sync::oneshot::channel::<()>();
    tasks.push(tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(event) = events.next().await {
            let msg = match event {
                Ok(TermEvent::Key(key)) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Ok(TermEvent::Resize(width, height)) => Msg::Resize { width, height },
                // Clicks and the wheel; moves, drags and releases mean nothing here.
                Ok(TermEvent::Mouse(mouse))
                    if matches!(
                        mouse.kind,
                        MouseEventKind::Down(_)
                            | MouseEventKind::ScrollDown
                            | MouseEventKind::ScrollUp
                    ) =>
                {
                    Msg::Mouse(mouse)
                }
                Ok(_) => continue,
                // The terminal is gone (SSH session died).
                Err(_) => break,
            };
            if to_app.send(msg).await.is_err() {
                break;
            }
        }
        let _ = input_closed_tx.send(());
    }));

    // The clock.
    let to_app = messages.clone();
    tasks.push(tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if to_app.send(Msg::Tick(Utc::now())).await.is_err() {
                break;
            }
        }
    }));

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;

    // Why the console is ending without being asked to, if it is.
    let mut ending: Option<&str> = None;
    let mut last_frame = Instant::now() - FRAME_INTERVAL;
    update(&mut app, Msg::Tick(Utc::now()));
    'run: loop {
        let next_frame = last_frame + FRAME_INTERVAL;
        let mut batch = Vec::new();
        tokio::select! {
            msg = inbox.recv() => {
                let Some(msg) = msg else { break 'run };
                batch.push(msg);
            }
            update = sync.updates.recv() => {
                match update {
                    Some(update) => batch.push(Msg::Sync(update)),
                    // The sync task ended (it only does when told to): start it again.
                    None => sync = start_sync(client.clone()),
                }
            }
            _ = tokio::time::sleep_until(next_frame), if app.dirty => {}
            _ = terminate.recv() => {
                ending = Some("unknown: the console was stopped (SIGTERM) before the answer (check Actions or the server's audit)");
                break 'run;
            }
            _ = hangup.recv() => {
                ending = Some("unknown: the terminal hung up (SIGHUP) before the answer (check Actions or the server's audit)");
                break 'run;
            }
            _ = &mut input_closed => {
                ending = Some("unknown: the terminal went away before the answer (check Actions or the server's audit)");
                break 'run;
            }
        }
        // Drain what is already waiting: a burst costs one frame.
        while batch.len() < 512 {
            match sync.updates.try_recv() {
                Ok(update) => batch.push(Msg::Sync(update)),
                Err(_) => break,
            }
        }
        while batch.len() < 1024 {
            match inbox.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        // The whole fleet taken: what its listing freed goes back to the system.
        let fleet_taken = batch.iter().any(|msg| match msg {
            Msg::Sync(SyncUpdate::Hosts(page)) => page.done,
            Msg::Sync(SyncUpdate::Snapshot(_)) => true,
            _ => false,
        });
        for msg in batch {
            for effect in update(&mut app, msg) {
                match effect {
                    Effect::Quit => break 'run,
                    Effect::Suspend => {
                        terminal.suspend()?;
                        app.dirty = true;
                    }
                    Effect::Bell => {
                        let _ = terminal.bell();
                    }
                    Effect::MouseCapture(on) => {
                        if let Err(error) = terminal.set_mouse(on) {
                            update(
                                &mut app,
                                Msg::Sync(SyncUpdate::Problem(format!(
                                    "cannot change the mouse: {error}"
                                ))),
                            );
                        }
                    }
                    Effect::SwitchContext(name) => match switch_context(&name) {
                        Ok((context, new_client)) => {
                            sync.task.abort();
                            client = new_client;
                            sync = start_sync(client.clone());
                            app.switch_context(context);
                        }
                        Err(why) => {
                            update(&mut app, Msg::Sync(SyncUpdate::Problem(why)));
                        }
                    },
                    Effect::FetchHost(id) => {
                        let client = client.clone();
                        let to_app = messages.clone();
                        tokio::spawn(async move {
                            let result = client.host(&id).await.map_err(|e| e.to_string());
                            let _ = to_app
                                .send(Msg::HostDetail {
                                    id,
                                    result: Box::new(result),
                                })
                                .await;
                        });
                    }
                    Effect::Audit(record) => {
                        if let Some(path) = &audit_log
                            && let Err(error) = audit::append(path, &record)
                        {
                            update(
                                &mut app,
                                Msg::Sync(SyncUpdate::Problem(format!(
                                    "cannot write the audit log {}: {error}",
                                    path.display()
                                ))),
                            );
                        }
                    }
                    Effect::Plan { id, requests } => {
                        let client = client.clone();
                        let to_app = messages.clone();
                        tokio::spawn(async move {
                            let mut plans = Vec::with_capacity(requests.len());
                            for request in &requests {
                                plans.push(client.plan(request).await.map_err(|e| e.to_string()));
                            }
                            let _ = to_app.send(Msg::Planned { id, plans }).await;
                        });
                    }
                    Effect::FetchCompliance { if_none_match } => {
                        let client = client.clone();
                        let to_app = messages.clone();
                        tokio::spawn(async move {
                            let answer = client
                                .compliance_if_changed(if_none_match.as_deref())
                                .await
                                .map(|answer| match answer {
                                    Some((compliance, etag)) => ComplianceAnswer::Changed {
                                        compliance: Box::new(compliance),
                                        etag,
                                    },
                                    None => ComplianceAnswer::NotModified,
                                })
                                .map_err(|e| e.to_string());
                            let _ = to_app.send(Msg::Compliance(answer)).await;
                        });
                    }
                    Effect::Act(call) => {
                        let client = client.clone();
                        let to_app = messages.clone();
                        tokio::spawn(async move {
                            let outcome = client.act_outcome(&call).await;
                            let _ = to_app
                                .send(Msg::ActionDone {
                                    idempotency_key: call.idempotency_key.clone(),
                                    outcome,
                                })
                                .await;
                        });
                    }
                }
            }
        }
        if fleet_taken {
            crate::memory::give_back_freed();
        }
        if app.dirty && Instant::now() >= last_frame + FRAME_INTERVAL {
            if terminal.draw(|frame| view(&app, &look, frame)).is_err() {
                // The terminal is gone: nothing to draw on, leave quietly.
                break 'run;
            }
            app.dirty = false;
            last_frame = Instant::now();
        }
    }
    // Stopped from outside with actions in flight: say so in the audit log, each one.
    let mut unwritten = Vec::new();
    if let (Some(why), Some(path)) = (ending, &audit_log) {
        for effect in crate::app::records::abandon_unanswered(&mut app, why) {
            if let Effect::Audit(record) = effect
                && let Err(error) = audit::append(path, &record)
            {
                unwritten.push(format!(
                    "cannot write the audit log {}: {error}",
                    path.display()
                ));
            }
        }
    }
    sync.task.abort();
    for task in tasks {
        task.abort();
    }
    drop(terminal);
    // Said once the terminal is back, where it can be read.
    for problem in unwritten {
        eprintln!("patchdeck: {problem}");
    }
    Ok(())
}
