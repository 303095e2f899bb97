//! The runner: turns terminal input, sync updates, timer ticks and effect results into
//! `Msg`s on one channel, applies them with the pure `update`, runs the effects, and
//! draws when something changed (at most ~30 frames a second; nothing when idle).

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use std::path::PathBuf;

use crate::api::client::{Client, ClientError};
use crate::api::sync::{SyncUpdate, spawn_sync};
use crate::app::dialog::ActFailure;
use crate::app::{App, Effect, Msg, update};
use crate::audit;
use crate::terminal::TerminalGuard;
use crate::ui::{Look, view};

/// Shortest time between two frames.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// How often the clock ticks (the app decides whether a tick changes the screen).
pub const TICK_INTERVAL: Duration = Duration::from_millis(250);

/// Run the console until the operator quits or the terminal goes away.
/// What the dialog needs to know of a failed action.
pub fn act_failure(error: ClientError) -> ActFailure {
    match error {
        ClientError::VersionMismatch { current_version } => ActFailure::Changed { current_version },
        ClientError::Forbidden(why) => ActFailure::Forbidden(why),
        ClientError::Unauthorized => ActFailure::Forbidden(error.to_string()),
        ClientError::Timeout { .. } | ClientError::Network { .. } => {
            ActFailure::Timeout(error.to_string())
        }
        other => ActFailure::Refused(other.to_string()),
    }
}

/// Run the console until the operator quits or the terminal goes away. Actions sent are
/// recorded in `audit_log` (when there is one).
pub async fn run(
    mut app: App,
    look: Look,
    client: Client,
    audit_log: Option<PathBuf>,
) -> color_eyre::Result<()> {
    let mut terminal = TerminalGuard::enter()?;
    let (width, height) = terminal.size()?;
    app.width = width;
    app.height = height;

    let (messages, mut inbox) = mpsc::channel::<Msg>(4096);
    let mut tasks = Vec::new();

    // The API: list, then watch; every update becomes a message.
    let (sync_tx, mut sync_rx) = mpsc::channel(256);
    tasks.push(spawn_sync(client.clone(), sync_tx));
    let to_app = messages.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(update) = sync_rx.recv().await {
            if to_app.send(Msg::Sync(update)).await.is_err() {
                break;
            }
        }
    }));

    // The keyboard and the window size.
    let to_app = messages.clone();
    let (input_closed_tx, mut input_closed) = tokio::sync::oneshot::channel::<()>();
    tasks.push(tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(event) = events.next().await {
            let msg = match event {
                Ok(TermEvent::Key(key)) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Ok(TermEvent::Resize(width, height)) => Msg::Resize { width, height },
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

    let mut last_frame = Instant::now() - FRAME_INTERVAL;
    update(&mut app, Msg::Tick(Utc::now()));
    'run: loop {
        let next_frame = last_frame + FRAME_INTERVAL;
        tokio::select! {
            msg = inbox.recv() => {
                let Some(msg) = msg else { break 'run };
                // Drain what is already waiting: a burst costs one frame.
                let mut batch = vec![msg];
                while batch.len() < 512 {
                    match inbox.try_recv() {
                        Ok(msg) => batch.push(msg),
                        Err(_) => break,
                    }
                }
                for msg in batch {
                    for effect in update(&mut app, msg) {
                        match effect {
                            Effect::Quit => break 'run,
                            Effect::Suspend => {
                                terminal.suspend()?;
                                app.dirty = true;
                            }
                            Effect::FetchHost(id) => {
                                let client = client.clone();
                                let to_app = messages.clone();
                                tokio::spawn(async move {
                                    let result = client.host(&id).await.map_err(|e| e.to_string());
                                    let _ = to_app.send(Msg::HostDetail { id, result: Box::new(result) }).await;
                                });
                            }
                            Effect::Audit(record) => {
                                if let Some(path) = &audit_log
                                    && let Err(error) = audit::append(path, &record)
                                {
                                    update(&mut app, Msg::Sync(SyncUpdate::Problem(format!(
                                        "cannot write the audit log {}: {error}",
                                        path.display()
                                    ))));
                                }
                            }
                            Effect::Act(call) => {
                                let client = client.clone();
                                let to_app = messages.clone();
                                tokio::spawn(async move {
                                    let result = client.act(&call).await.map_err(act_failure);
                                    let _ = to_app
                                        .send(Msg::ActionDone { idempotency_key: call.idempotency_key.clone(), result })
                                        .await;
                                });
                            }
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_frame), if app.dirty => {}
            _ = terminate.recv() => break 'run,
            _ = hangup.recv() => break 'run,
            _ = &mut input_closed => break 'run,
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
    for task in tasks {
        task.abort();
    }
    drop(terminal);
    Ok(())
}
