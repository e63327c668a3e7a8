//! A bubblewrap (`bwrap`) sandbox for every parser of untrusted input that
//! runs as a subprocess (document converters, media probes).
//!
//! A sandboxed command gets: new user, PID, network, IPC, UTS and cgroup
//! namespaces (`--unshare-all`: no network at all, not even loopback to the
//! host), no capabilities, read-only binds of `/usr` (and `/lib`, `/lib64`,
//! `/bin`, `/sbin` as on the host, `/etc/fonts` when present), a read-only
//! root (`--remount-ro /`), a private
//! tmpfs `/tmp` as its working folder, no home, an empty environment but
//! `PATH`, `--die-with-parent` and `--new-session` (no terminal injection).
//! Outside bubblewrap: an address-space limit (`RLIMIT_AS`, set before
//! `exec` and inherited by everything inside), a core-dump limit of zero, a
//! wall-clock limit that kills the whole process group, and a cap on the
//! output it may return. Input is passed on stdin, or as a read-only file in
//! the sandbox's own tmpfs ([`Sandbox::run_with_file`]); nothing of the host's
//! file system is writable.
//!
//! [`Sandbox::probe`] checks that bwrap exists *and* can start here (a
//! container may forbid user namespaces); callers refuse to run parsers
//! without it unless the analyst explicitly chose `--no-sandbox`.

use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why there is no sandbox: the message names the cause and the fix.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "no sandbox: {why}; untrusted documents are not parsed without one (install it with `apt-get install bubblewrap`, or pass --no-sandbox to accept the risk)"
)]
pub struct Unavailable {
    pub why: String,
}

/// A sandboxed run that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the sandbox could not be started: {0}")]
    Spawn(io::Error),
    #[error("killed after the time limit of {0:?}")]
    Timeout(Duration),
    #[error("killed: its output exceeded the limit of {0} bytes")]
    OutputTooLarge(usize),
    #[error("the sandbox failed: {0}")]
    Io(io::Error),
}

/// Limits of one sandboxed run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time; the process group is killed after it.
    pub wall: Duration,
    /// Address space (bytes) of every process inside (`RLIMIT_AS`).
    pub memory: u64,
    /// Bytes of stdout and of stderr each; more kills the run.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(60),
            memory: 2 << 30,
            output: 256 << 20,
        }
    }
}

/// What a sandboxed command returned.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }
    /// The signal that ended it, if any (9 after the memory limit's abort is
    /// not used: an allocation over the limit fails inside the program).
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

/// A bubblewrap that was seen to start on this machine.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: PathBuf,
}

const BWRAP_PATHS: &[&str] = &["/usr/bin/bwrap", "/bin/bwrap"];

impl Sandbox {
    /// Finds bwrap and starts `true` in the sandbox this module uses.
    pub fn probe() -> Result<Sandbox, Unavailable> {
        let bwrap = BWRAP_PATHS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| Unavailable {
                why: "bubblewrap (bwrap) is not installed".into(),
            })?;
        let sb = Sandbox { bwrap };
        let limits = Limits {
            wall: Duration::from_secs(20),
            memory: 1 << 30,
            output: 1 << 16,
        };
        match sb.run("true", &[], &[], &limits) {
            Ok(o) if o.success() => Ok(sb),
            Ok(o) => Err(Unavailable {
                why: format!(
                    "bwrap is installed but cannot start here ({}; user namespaces may be disabled)",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            }),
            Err(e) => Err(Unavailable {
                why: format!("bwrap is installed but cannot start here: {e}"),
            }),
        }
    }

    /// The bwrap arguments up to (not including) the command.
    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/bin:/bin",
            "--setenv",
            "HOME",
            "/tmp",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in ["/lib", "/lib64", "/lib32", "/bin", "/sbin"] {
            let p = Path::new(d);
            match std::fs::read_link(p) {
                Ok(target) => {
                    a.push("--symlink".into());
                    a.push(target.to_string_lossy().into_owned());
                    a.push(d.into());
                }
                Err(_) if p.is_dir() => {
                    a.push("--ro-bind".into());
                    a.push(d.into());
                    a.push(d.into());
                }
                Err(_) => {}
            }
        }
        for d in ["/etc/fonts", "/etc/alternatives", "/etc/ld.so.cache"] {
            a.push("--ro-bind-try".into());
            a.push(d.into());
            a.push(d.into());
        }
        a.extend(
            [
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
                "--remount-ro",
                "/",
                "--chdir",
                "/tmp",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        a
    }

    /// Runs `cmd args…` in the sandbox with `input` on stdin, within `limits`.
    /// A non-zero exit is an [`Output`]; the caller decides what it means.
    pub fn run(
        &self,
        cmd: &str,
        args: &[&str],
        input: &[u8],
        limits: &Limits,
    ) -> Result<Output, SandboxError> {
        self.run_inner(cmd, args, input, None, limits)
    }

    /// Like [`Sandbox::run`] with the input as a read-only file
    /// `/tmp/<name>` inside the sandbox (for programs that need to seek).
    /// bwrap copies it from a pipe into the sandbox's own tmpfs: it is never
    /// on the host's disk. Stdin is empty.
    pub fn run_with_file(
        &self,
        cmd: &str,
        args: &[&str],
        name: &str,
        data: &[u8],
        limits: &Limits,
    ) -> Result<Output, SandboxError> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(SandboxError::Io(io::Error::other(
                "internal: a sandbox file name is one plain component",
            )));
        }
        self.run_inner(cmd, args, &[], Some((name, data)), limits)
    }

    fn run_inner(
        &self,
        cmd: &str,
        args: &[&str],
        input: &[u8],
        file: Option<(&str, &[u8])>,
        limits: &Limits,
    ) -> Result<Output, SandboxError> {
        let mut c = Command::new(&self.bwrap);
        c.args(self.args());
        // The file's pipe: both ends close-on-exec; the child clears the flag
        // on the read end only, so bwrap sees EOF when our writer is done.
        let mut pipe_fds: Option<[libc::c_int; 2]> = None;
        if let Some((name, _)) = file {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: pipe2 writes two fds into the array.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(SandboxError::Spawn(io::Error::last_os_error()));
            }
            c.args(["--perms", "0444", "--ro-bind-data"])
                .arg(fds[0].to_string())
                .arg(format!("/tmp/{name}"));
            pipe_fds = Some(fds);
        }
        let read_fd = pipe_fds.map(|f| f[0]);
        c.arg("--")
            .arg(cmd)
            .args(args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mem = limits.memory;
        // SAFETY: only async-signal-safe calls (setpgid, setrlimit) between
        // fork and exec.
        unsafe {
            c.pre_exec(move || {
                if let Some(fd) = read_fd
                    && libc::fcntl(fd, libc::F_SETFD, 0) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // Its own process group, so a timeout kills everything in it.
                if libc::setpgid(0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                let as_lim = libc::rlimit {
                    rlim_cur: mem as libc::rlim_t,
                    rlim_max: mem as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &as_lim) != 0 {
                    return Err(io::Error::last_os_error());
                }
                let core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::setrlimit(libc::RLIMIT_CORE, &core) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned = c.spawn();
        let file_writer = match (pipe_fds, file) {
            (Some(fds), Some((_, data))) => {
                // SAFETY: fds[0] is ours and no longer needed here (the child
                // has its copy); fds[1] becomes owned by the File.
                unsafe { libc::close(fds[0]) };
                let mut w =
                    unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
                let data = zeroize::Zeroizing::new(data.to_vec());
                Some(std::thread::spawn(move || {
                    let _ = w.write_all(&data);
                }))
            }
            _ => None,
        };
        let mut child = spawned.map_err(SandboxError::Spawn)?;
        let pid = child.id() as libc::pid_t;
        let over = Arc::new(AtomicBool::new(false));
        let mut stdin = child.stdin.take().expect("piped");
        let input = zeroize::Zeroizing::new(input.to_vec());
        let writer = std::thread::spawn(move || {
            // A command that does not read its input closes the pipe: fine.
            let _ = stdin.write_all(&input);
        });
        let cap = limits.output;
        let reader = |r: Box<dyn Read + Send>, over: Arc<AtomicBool>| {
            std::thread::spawn(move || -> io::Result<Vec<u8>> {
                let mut v = Vec::new();
                r.take(cap as u64 + 1).read_to_end(&mut v)?;
                if v.len() > cap {
                    over.store(true, Ordering::SeqCst);
                    v.truncate(cap);
                }
                Ok(v)
            })
        };
        let out_t = reader(Box::new(child.stdout.take().expect("piped")), over.clone());
        let err_t = reader(Box::new(child.stderr.take().expect("piped")), over.clone());
        let start = Instant::now();
        let kill = |child: &mut std::process::Child| {
            // SAFETY: kill(2) on our child's process group.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        };
        let status = loop {
            if let Some(s) = child.try_wait().map_err(SandboxError::Io)? {
                break s;
            }
            if over.load(Ordering::SeqCst) {
                kill(&mut child);
                return Err(SandboxError::OutputTooLarge(cap));
            }
            if start.elapsed() >= limits.wall {
                kill(&mut child);
                return Err(SandboxError::Timeout(limits.wall));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Anything left in the group (bwrap is gone) goes with it.
        // SAFETY: kill(2) on our child's former process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = writer.join();
        if let Some(t) = file_writer {
            let _ = t.join();
        }
        let stdout = out_t
            .join()
            .map_err(|_| SandboxError::Io(io::Error::other("reader panicked")))?
            .map_err(SandboxError::Io)?;
        let stderr = err_t
            .join()
            .map_err(|_| SandboxError::Io(io::Error::other("reader panicked")))?
            .map_err(SandboxError::Io)?;
        if over.load(Ordering::SeqCst) {
            return Err(SandboxError::OutputTooLarge(cap));
        }
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_why_and_how_to_fix() {
        let e = Unavailable {
            why: "bubblewrap (bwrap) is not installed".into(),
        };
        let s = e.to_string();
        assert!(s.contains("not installed"), "{s}");
        assert!(s.contains("apt-get install bubblewrap"), "{s}");
        assert!(s.contains("--no-sandbox"), "{s}");
    }
}
