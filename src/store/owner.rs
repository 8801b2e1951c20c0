//! Which process owns a `running` experiment, and whether it is still alive.
//!
//! An owner is the pid, the host name and a start token: on Linux the boot
//! id and the process start time (`/proc/<pid>/stat` field 22, in clock
//! ticks since boot), which together never repeat, so a pid reused by
//! another process after `kill -9` is not mistaken for the owner. Where the
//! token cannot be read (another OS, a restricted `/proc`) or the row was
//! written on another host or before owners were recorded, a lease decides:
//! a render running for longer than [`LEASE`] is over, since every
//! provider's own timeout is far shorter.

use std::sync::OnceLock;
use std::time::Duration;

/// How long a `running` row whose owner cannot be checked is trusted.
pub(super) const LEASE: Duration = Duration::from_secs(60 * 60);

/// The recorded identity of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Owner {
    /// Its process id.
    pub pid: u32,
    /// The host it runs on, when known.
    pub host: Option<String>,
    /// Boot id and start time, when known.
    pub start: Option<String>,
}

/// What is known about a recorded owner now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Liveness {
    /// The same process is still running.
    Alive,
    /// The process has ended (or its pid now belongs to another process).
    Gone,
    /// It cannot be checked from here: the lease decides.
    Unknown,
}

/// This process, computed once.
pub(super) fn current() -> &'static Owner {
    static CURRENT: OnceLock<Owner> = OnceLock::new();
    CURRENT.get_or_init(|| {
        let pid = std::process::id();
        Owner {
            pid,
            host: host(),
            start: start_token(pid),
        }
    })
}

/// Whether the process recorded as `recorded` is still running.
pub(super) fn liveness(recorded: &Owner) -> Liveness {
    let me = current();
    if me.host.is_none() || recorded.host != me.host {
        return Liveness::Unknown;
    }
    let Some(start) = &recorded.start else {
        return Liveness::Unknown;
    };
    if me.start.is_none() {
        return Liveness::Unknown; // this process cannot read tokens either
    }
    match start_token(recorded.pid) {
        Some(now) if &now == start => Liveness::Alive,
        // No such process, or a different one under the same pid.
        _ => Liveness::Gone,
    }
}

#[cfg(target_os = "linux")]
fn host() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_string()).filter(|n| !n.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn host() -> Option<String> {
    None
}

#[cfg(target_os = "linux")]
fn start_token(pid: u32) -> Option<String> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    let boot = BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty())
    });
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(format!("{}:{}", boot.as_deref()?, start_time(&stat)?))
}

/// Field 22 (`starttime`) of a `/proc/<pid>/stat` line, or `None` for a
/// zombie (state `Z`: killed, not yet reaped by its parent, and never to
/// write again). The command name (field 2) is in parentheses and may
/// itself hold spaces and `)`, so the fields are counted from the last `)`.
#[cfg(target_os = "linux")]
fn start_time(stat: &str) -> Option<u64> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    // Field 3 (the state) is taken; starttime is the 19th after it.
    fields.nth(18)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn start_token(_pid: u32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn start_time_is_read_after_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (evil ) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(start_time(stat), Some(987654));
        assert_eq!(start_time(&stat.replace(") S ", ") Z ")), None, "a zombie");
        assert_eq!(start_time("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = current().clone();
        assert!(me.start.is_some(), "Linux exposes the start time");
        assert_eq!(liveness(&me), Liveness::Alive);
        let reused = Owner {
            start: Some(format!("{}x", me.start.as_deref().unwrap())),
            ..me.clone()
        };
        assert_eq!(liveness(&reused), Liveness::Gone);
        let elsewhere = Owner {
            host: Some("another-host".into()),
            ..me
        };
        assert_eq!(liveness(&elsewhere), Liveness::Unknown);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_ended_process_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let recorded = Owner {
            pid,
            host: current().host.clone(),
            start: start_token(pid).or_else(|| Some("boot:1".into())),
        };
        child.wait().unwrap();
        assert_eq!(liveness(&recorded), Liveness::Gone);
    }
}
