//! The one place that touches the terminal: raw mode and the alternate screen on entry,
//! the mouse taken when asked, all restored on every way out (drop, panic, signals),
//! suspend on Ctrl-Z, and frames wrapped in synchronized output so slow links never
//! show half a frame.

use std::io::{self, Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal is in full-screen mode (raw, alternate screen), so `restore` has
/// something to undo.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Put the terminal back as the shell expects it. Safe to call more than once (only the
/// first call after entering does anything), and on a terminal that is gone (errors are
/// ignored: there is nobody to tell).
pub fn restore() {
    // Once: leaving the alternate screen again (the panic hook restores, then the guard
    // is dropped while unwinding) restores the cursor saved on entry a second time, and
    // the shell's prompt would then be written over the panic message.
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = stdout();
    // The mouse is given back whether or not it was taken: a shell left with mouse
    // reporting on prints escape sequences at every click and cannot select text.
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

/// Restore the terminal before the panic message is printed.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// A hidden trigger for the tests (tests/e2e_console.rs), never set by anyone else:
/// when this variable is in the environment, the first frame panics after it has been
/// written to the terminal and before its synchronized update is ended, the worst
/// moment for a panic, so that the tests can check a panic gives the terminal back.
pub const TEST_PANIC: &str = "PATCHDECK_TEST_PANIC";

/// The terminal in full-screen mode; restored when dropped.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    /// [`TEST_PANIC`] was set.
    panic_in_frame: bool,
    /// The mouse is taken (wheel and clicks come to the console).
    mouse: bool,
}

fn enter() -> io::Result<()> {
    // Before anything is changed: a failure half-way is restored too.
    ENTERED.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, cursor::Hide)
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        if let Err(e) = enter() {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(terminal) => Ok(TerminalGuard {
                terminal,
                panic_in_frame: std::env::var_os(TEST_PANIC).is_some(),
                mouse: false,
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn size(&self) -> io::Result<(u16, u16)> {
        let size = self.terminal.size()?;
        Ok((size.width, size.height))
    }

    /// Draw one frame inside a synchronized update.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> io::Result<()> {
        queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        self.terminal.draw(render)?;
        if self.panic_in_frame {
            panic!("{TEST_PANIC} is set: a panic in the middle of a frame, as the tests ask");
        }
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate)
    }

    /// Take the mouse (`true`: the terminal reports the wheel and clicks, and dragging
    /// no longer selects text unless Shift is held) or give it back.
    pub fn set_mouse(&mut self, on: bool) -> io::Result<()> {
        self.mouse = on;
        if on {
            execute!(self.terminal.backend_mut(), EnableMouseCapture)
        } else {
            execute!(self.terminal.backend_mut(), DisableMouseCapture)
        }
    }

    /// The terminal bell (BEL), once: a request awaits this console's approver.
    pub fn bell(&mut self) -> io::Result<()> {
        let backend = self.terminal.backend_mut();
        backend.write_all(b"\x07")?;
        backend.flush()
    }

    /// Ctrl-Z: give the terminal back, stop the process, and take it again on `fg`.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore();
        // SAFETY: raising a signal on our own process; SIGTSTP stops it until SIGCONT.
        unsafe {
            libc::raise(libc::SIGTSTP);
        }
        // A fresh Terminal has empty buffers: its next frame redraws everything on the
        // screen cleared below. (`Terminal::clear` would ask the terminal for the cursor
        // position while the input task reads the same tty; it swallows the answer and
        // the console died after `fg` with "The cursor position could not be read",
        // crossterm#672.)
        self.terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
        enter()?;
        if self.mouse {
            // Given back while stopped (the shell had its mouse): taken again.
            execute!(stdout(), EnableMouseCapture)?;
        }
        execute!(stdout(), Clear(ClearType::All))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
