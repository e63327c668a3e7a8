//! A bubblewrap (`bwrap`) sandbox for every parser of untrusted input that
//! runs as a subprocess (document converters, OCR, media tools).
//!
//! A sandboxed command gets: new user, PID, network, IPC, UTS and cgroup
//! namespaces (`--unshare-all`: no network at all, not even loopback to the
//! host), no capabilities, read-only binds of `/usr` (and `/lib`, `/lib64`,
//! `/bin`, `/sbin` as on the host, `/etc/fonts` and `/etc/libreoffice` when
//! present), a read-only root (`--remount-ro /`), a private tmpfs `/tmp` of
//! limited size as its working folder, no home, an empty environment but
//! `PATH`, `HOME`/`TMPDIR` (`/tmp`) and `LANG`, `--die-with-parent` and
//! `--new-session` (no terminal injection). Outside bubblewrap: an
//! address-space limit (`RLIMIT_AS`, set before `exec` and inherited by
//! everything inside), a core-dump limit of zero, a wall-clock limit that
//! kills the whole process group, and a cap on the output it may return.
//!
//! A [`Job`] gives input on stdin and as read-only files that bwrap copies
//! from pipes into the sandbox's tmpfs, and names output files that come back
//! through pipes (descriptors 3, 4, … written by a wrapper shell after the
//! program ended; the program itself runs with them closed). Nothing of the
//! host's file system is writable, and nothing is written to it. A job may
//! also run one program of ours ([`Job::helper`], bound read-only): the
//! baram binary, whose `__hwp-render` reads HWP documents in here.
//!
//! [`Sandbox::probe`] checks that bwrap exists *and* can start here (a
//! container may forbid user namespaces); callers refuse to run parsers
//! without it unless the analyst explicitly chose `--no-sandbox`
//! ([`Sandbox::unconfined`]: same commands, limits and environment, in a
//! private folder on /dev/shm that is removed after each run, and by the
//! next writer when a run was killed: [`remove_stale_work_folders`]).
//!
//! Nothing of a run outlives a killed baram: every spawned process gets the
//! parent-death signal (SIGKILL) from its first instant, bwrap adds its own
//! and the PID namespace takes the rest; and every run is in the process
//! group of a watchdog that kills it, and bwrap's namespace init, when we
//! die (that init has no parent-death signal for its first milliseconds).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
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
    /// Bytes of stdout, of stderr and of each output file; more kills the run.
    pub output: usize,
    /// Size of the sandbox's tmpfs `/tmp` (bwrap `--size`).
    pub tmpfs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(60),
            memory: 2 << 30,
            output: 256 << 20,
            tmpfs: 1 << 30,
        }
    }
}

/// What a sandboxed command returned.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The job's output files, in the order asked; `None`: not written.
    pub files: Vec<Option<Vec<u8>>>,
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

/// How commands are run: inside bubblewrap, or (only when the analyst
/// passed `--no-sandbox`) directly, in a private folder on a tmpfs.
#[derive(Debug, Clone)]
enum Mode {
    Bwrap(PathBuf),
    Unconfined,
}

/// A bubblewrap that was seen to start on this machine, or the explicit
/// choice to run without one ([`Sandbox::unconfined`]).
#[derive(Debug, Clone)]
pub struct Sandbox {
    mode: Mode,
}

const BWRAP_PATHS: &[&str] = &["/usr/bin/bwrap", "/bin/bwrap"];

/// The environment variable naming the bwrap to use instead of the usual
/// places (tests use it to simulate a machine without bubblewrap).
pub const BWRAP_ENV: &str = "BARAM_VAULT_BWRAP";

/// Where unconfined runs keep their files: a tmpfs, never a disk.
const SHM: &str = "/dev/shm";

/// One sandboxed run: a program, its input on stdin and as read-only files
/// in its working folder, and the files it writes there that come back.
#[derive(Debug, Clone, Default)]
pub struct Job<'a> {
    pub program: &'a str,
    pub args: Vec<String>,
    pub stdin: &'a [u8],
    /// Read-only input files `(name, bytes)` in the working folder; a name
    /// is one plain component.
    pub files: Vec<(&'a str, &'a [u8])>,
    /// Files (relative paths in the working folder) returned after the
    /// program ends, each `None` when it was not written.
    pub outputs: Vec<&'a str>,
    /// Environment variables besides PATH, HOME, TMPDIR and LANG.
    pub env: Vec<(&'a str, String)>,
    /// A program of ours the job runs, named to it as `$BARAM_HELPER`
    /// (baram itself, for the readers of formats no installed tool reads:
    /// `baram __hwp-render`). In bubblewrap it is bound read-only at
    /// [`HELPER_PATH`]; unconfined, it is its own path.
    pub helper: Option<&'a Path>,
}

/// Where a [`Job::helper`] is inside bubblewrap.
pub const HELPER_PATH: &str = "/run/baram/helper";

impl<'a> Job<'a> {
    pub fn new(program: &'a str, args: &[&str]) -> Job<'a> {
        Job {
            program,
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
}

fn plain_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn relative_path(name: &str) -> bool {
    !name.is_empty() && name.split('/').all(plain_component)
}

/// The mount type of `path`'s mount point, from /proc/self/mounts.
fn mount_type(path: &str) -> Option<String> {
    let m = std::fs::read_to_string("/proc/self/mounts").ok()?;
    m.lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (_dev, at, ty) = (f.next()?, f.next()?, f.next()?);
            Some((at.to_string(), ty.to_string()))
        })
        .filter(|(at, _)| path == at || path.starts_with(&format!("{}/", at.trim_end_matches('/'))))
        .max_by_key(|(at, _)| at.len())
        .map(|(_, ty)| ty)
}

/// The name of unconfined runs' work folders in /dev/shm:
/// `baram-vault-<16 hex>-<pid>`.
const SHM_PREFIX: &str = "baram-vault-";

/// A private folder on /dev/shm, removed when dropped. It holds an exclusive
/// `flock` on itself for as long as it lives (the descriptor is close-on-exec:
/// only this process holds it), so [`remove_stale_work_folders`] can tell a
/// live run's folder from one a killed run left behind.
struct ShmDir(PathBuf, #[allow(dead_code)] std::fs::File);

fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

fn flock(f: &std::fs::File, op: libc::c_int) -> bool {
    // SAFETY: flock(2) on a descriptor we own.
    unsafe { libc::flock(f.as_raw_fd(), op) == 0 }
}

impl ShmDir {
    fn new() -> io::Result<ShmDir> {
        match mount_type(SHM).as_deref() {
            Some("tmpfs") => {}
            other => {
                return Err(io::Error::other(format!(
                    "{SHM} is not a tmpfs here ({}); without the sandbox there is nowhere to put plaintext that is not a disk",
                    other.unwrap_or("not mounted")
                )));
            }
        }
        for _ in 0..8 {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let p = Path::new(SHM).join(format!("{SHM_PREFIX}{hex}-{}", std::process::id()));
            std::fs::DirBuilder::new().mode(0o700).create(&p)?;
            let f = std::fs::File::open(&p)?;
            if !flock(&f, libc::LOCK_EX) {
                return Err(io::Error::last_os_error());
            }
            // A sweep of another run may have taken the folder in the
            // instant before the lock (and removed it): then make another.
            match std::fs::symlink_metadata(&p) {
                Ok(m) if same_inode(&m, &f.metadata()?) => return Ok(ShmDir(p, f)),
                _ => continue,
            }
        }
        Err(io::Error::other(format!(
            "{SHM}: no private folder could be made"
        )))
    }
}

impl Drop for ShmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes the work folders that killed unconfined (`--no-sandbox`) runs
/// left in /dev/shm, with the plaintext they were working on: every
/// `baram-vault-<hex>-<pid>` folder of this user whose lock no live run
/// holds. Returns how many. [`crate::Vault::open_writer`] calls it.
pub fn remove_stale_work_folders() -> io::Result<usize> {
    use std::os::unix::fs::MetadataExt;
    let rd = match std::fs::read_dir(SHM) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    // SAFETY: geteuid(2) has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let mut n = 0;
    for e in rd {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some((hex, pid)) = name
            .strip_prefix(SHM_PREFIX)
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        if !(crate::fsx::is_hex(hex, 16) && pid.parse::<u32>().is_ok()) {
            continue;
        }
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if !m.is_dir() || m.uid() != uid {
            continue;
        }
        let Ok(f) = std::fs::File::open(&p) else {
            continue;
        };
        if !f.metadata().is_ok_and(|fm| same_inode(&m, &fm)) {
            continue;
        }
        if !flock(&f, libc::LOCK_EX | libc::LOCK_NB) {
            continue; // a live run's
        }
        match std::fs::remove_dir_all(&p) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

impl Sandbox {
    /// Finds bwrap (`$BARAM_VAULT_BWRAP`, else the usual places) and starts
    /// `true` in the sandbox this module uses.
    pub fn probe() -> Result<Sandbox, Unavailable> {
        let bwrap = match std::env::var_os(BWRAP_ENV) {
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.is_file() {
                    return Err(Unavailable {
                        why: format!("bubblewrap is not at {} (set by {BWRAP_ENV})", p.display()),
                    });
                }
                p
            }
            None => BWRAP_PATHS
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or_else(|| Unavailable {
                    why: "bubblewrap (bwrap) is not installed".into(),
                })?,
        };
        let sb = Sandbox {
            mode: Mode::Bwrap(bwrap),
        };
        let limits = Limits {
            wall: Duration::from_secs(20),
            memory: 1 << 30,
            output: 1 << 16,
            tmpfs: 1 << 20,
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

    /// No sandbox, as the analyst chose with `--no-sandbox`: commands run
    /// directly, with the same environment, limits and process-group kill,
    /// in a private folder on /dev/shm (a tmpfs; refused when it is not one)
    /// that is removed after each run. They can see the host and the network.
    pub fn unconfined() -> Sandbox {
        Sandbox {
            mode: Mode::Unconfined,
        }
    }

    /// True inside bubblewrap.
    pub fn is_confined(&self) -> bool {
        matches!(self.mode, Mode::Bwrap(_))
    }

    /// The bwrap arguments up to (not including) the command.
    fn args(&self, limits: &Limits, helper: Option<&Path>) -> Vec<String> {
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
            "TMPDIR",
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
        for d in [
            "/etc/fonts",
            "/etc/alternatives",
            "/etc/ld.so.cache",
            "/etc/libreoffice",
        ] {
            a.push("--ro-bind-try".into());
            a.push(d.into());
            a.push(d.into());
        }
        a.extend(
            ["--proc", "/proc", "--dev", "/dev", "--size"]
                .iter()
                .map(|s| s.to_string()),
        );
        a.push(limits.tmpfs.to_string());
        a.extend(["--tmpfs", "/tmp"].iter().map(|s| s.to_string()));
        if let Some(h) = helper {
            // Before the root is made read-only: bwrap makes the mount point.
            a.push("--ro-bind".into());
            a.push(h.to_string_lossy().into_owned());
            a.push(HELPER_PATH.into());
            a.push("--setenv".into());
            a.push("BARAM_HELPER".into());
            a.push(HELPER_PATH.into());
        }
        a.extend(
            ["--remount-ro", "/", "--chdir", "/tmp"]
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
        let mut j = Job::new(cmd, args);
        j.stdin = input;
        self.run_job(&j, limits)
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
        let mut j = Job::new(cmd, args);
        j.files = vec![(name, data)];
        self.run_job(&j, limits)
    }

    /// Runs a [`Job`] within `limits`. In bubblewrap the working folder is
    /// the sandbox's private tmpfs `/tmp`: input files are copied into it
    /// by bwrap from pipes, and outputs come back through pipes (a wrapper
    /// shell writes each to its own descriptor once the program has ended),
    /// so nothing touches the host's file system. Unconfined, the working
    /// folder is a fresh private folder on /dev/shm, removed afterwards.
    pub fn run_job(&self, job: &Job, limits: &Limits) -> Result<Output, SandboxError> {
        let internal = |m: &str| SandboxError::Io(io::Error::other(format!("internal: {m}")));
        for (name, _) in &job.files {
            if !plain_component(name) {
                return Err(internal("a sandbox input file name is one plain component"));
            }
        }
        for name in &job.outputs {
            if !relative_path(name) {
                return Err(internal("a sandbox output is a plain relative path"));
            }
        }
        if let Some(h) = job.helper
            && !(h.is_absolute() && h.is_file())
        {
            return Err(SandboxError::Spawn(io::Error::other(format!(
                "the helper program {} is not a file",
                h.display()
            ))));
        }
        match &self.mode {
            Mode::Bwrap(bwrap) => self.run_bwrap(bwrap, job, limits),
            Mode::Unconfined => run_unconfined(job, limits),
        }
    }

    fn run_bwrap(&self, bwrap: &Path, job: &Job, limits: &Limits) -> Result<Output, SandboxError> {
        let mut c = Command::new(bwrap);
        c.args(self.args(limits, job.helper));
        for (k, v) in &job.env {
            c.args(["--setenv", k, v]);
        }
        let n_out = job.outputs.len();
        // Child descriptors: outputs at 3.., input files after them.
        let mut moves: Vec<(RawFd, RawFd)> = Vec::new();
        let mut out_readers = Vec::new();
        let mut out_writers = Vec::new();
        for i in 0..n_out {
            let (r, w) = io::pipe().map_err(SandboxError::Spawn)?;
            moves.push((w.as_raw_fd(), 3 + i as RawFd));
            out_readers.push(r);
            out_writers.push(w);
        }
        let mut in_readers = Vec::new();
        let mut in_writers = Vec::new();
        for (j, (name, _)) in job.files.iter().enumerate() {
            let (r, w) = io::pipe().map_err(SandboxError::Spawn)?;
            let target = 3 + (n_out + j) as RawFd;
            moves.push((r.as_raw_fd(), target));
            c.args(["--perms", "0444", "--ro-bind-data"])
                .arg(target.to_string())
                .arg(format!("/tmp/{name}"));
            in_readers.push(r);
            in_writers.push(w);
        }
        // bwrap tells us the host pid of the namespace's first process
        // (--info-fd), and that process waits (--block-fd) until the
        // watchdog knows it: only then may it leave the process group.
        let (info_r, info_w) = io::pipe().map_err(SandboxError::Spawn)?;
        let (block_r, mut block_w) = io::pipe().map_err(SandboxError::Spawn)?;
        let first = 3 + (n_out + job.files.len()) as RawFd;
        moves.push((info_w.as_raw_fd(), first));
        moves.push((block_r.as_raw_fd(), first + 1));
        c.arg("--info-fd")
            .arg(first.to_string())
            .arg("--block-fd")
            .arg((first + 1).to_string());
        c.arg("--");
        if n_out == 0 {
            c.arg(job.program).args(&job.args);
        } else {
            // The program runs without the output descriptors; then each
            // output is sent on its own: "1" and the bytes, or "0".
            let close: String = (0..n_out).map(|i| format!(" {}>&-", 3 + i)).collect();
            let mut script = format!("\"$@\"{close}; rc=$?; ");
            for (i, name) in job.outputs.iter().enumerate() {
                script.push_str(&format!(
                    "if [ -f '{name}' ]; then printf 1; cat '{name}'; else printf 0; fi >&{}; ",
                    3 + i
                ));
            }
            script.push_str("exit $rc");
            c.args(["/bin/sh", "-c", &script, "sh", job.program])
                .args(&job.args);
        }
        c.env_clear();
        let mut watchdog =
            Watchdog::start(Some(block_w.as_raw_fd())).map_err(SandboxError::Spawn)?;
        let spawned = spawn_limited(&mut c, limits, moves, watchdog.group());
        // Our copies of the child's ends go now, so EOFs arrive.
        drop(in_readers);
        drop(out_writers);
        drop(info_w);
        drop(block_r);
        let mut child = spawned.map_err(SandboxError::Spawn)?;
        let inner = match namespace_init(info_r, limits.wall) {
            Ok(p) => p,
            Err(e) => {
                kill_run(&mut child, watchdog.group(), None);
                return Err(e);
            }
        };
        if let Some(p) = inner {
            watchdog.also(p);
        }
        // Now it may go on (nothing to do if bwrap already failed).
        let _ = block_w.write_all(b"x");
        drop(block_w);
        let feeders: Vec<_> = in_writers
            .into_iter()
            .zip(job.files.iter())
            .map(|(mut w, (_, data))| {
                let data = zeroize::Zeroizing::new(data.to_vec());
                std::thread::spawn(move || {
                    let _ = w.write_all(&data);
                })
            })
            .collect();
        let over = Arc::new(AtomicBool::new(false));
        let out_threads: Vec<_> = out_readers
            .into_iter()
            .map(|r| capped_reader(Box::new(r), limits.output, over.clone()))
            .collect();
        let r = supervise(
            &mut child,
            watchdog.group(),
            inner,
            job.stdin,
            limits,
            &over,
        );
        drop(watchdog);
        for f in feeders {
            let _ = f.join();
        }
        let (status, stdout, stderr) = r?;
        let mut files = Vec::new();
        for t in out_threads {
            let v = join_reader(t)?;
            files.push(match v.split_first() {
                Some((b'1', rest)) => Some(rest.to_vec()),
                _ => None,
            });
        }
        if over.load(Ordering::SeqCst) {
            return Err(SandboxError::OutputTooLarge(limits.output));
        }
        Ok(Output {
            status,
            stdout,
            stderr,
            files,
        })
    }
}

fn run_unconfined(job: &Job, limits: &Limits) -> Result<Output, SandboxError> {
    let dir = ShmDir::new().map_err(SandboxError::Spawn)?;
    for (name, data) in &job.files {
        let p = dir.0.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(&p)
            .and_then(|mut f| f.write_all(data))
            .map_err(SandboxError::Spawn)?;
    }
    let mut c = Command::new(job.program);
    c.args(&job.args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &dir.0)
        .env("TMPDIR", &dir.0)
        .env("LANG", "C.UTF-8")
        .current_dir(&dir.0);
    if let Some(h) = job.helper {
        c.env("BARAM_HELPER", h);
    }
    for (k, v) in &job.env {
        c.env(k, v);
    }
    let watchdog = Watchdog::start(None).map_err(SandboxError::Spawn)?;
    let mut child =
        spawn_limited(&mut c, limits, Vec::new(), watchdog.group()).map_err(SandboxError::Spawn)?;
    let over = Arc::new(AtomicBool::new(false));
    let r = supervise(&mut child, watchdog.group(), None, job.stdin, limits, &over);
    drop(watchdog);
    let (status, stdout, stderr) = r?;
    let mut files = Vec::new();
    for name in &job.outputs {
        let p = dir.0.join(name);
        files.push(match std::fs::File::open(&p) {
            Ok(f) => {
                let mut v = Vec::new();
                f.take(limits.output as u64 + 1)
                    .read_to_end(&mut v)
                    .map_err(SandboxError::Io)?;
                if v.len() > limits.output {
                    return Err(SandboxError::OutputTooLarge(limits.output));
                }
                Some(v)
            }
            Err(_) => None,
        });
    }
    Ok(Output {
        status,
        stdout,
        stderr,
        files,
    })
}

/// Kills a run's processes should this process die first.
///
/// The parent-death signal alone leaves gaps. Unconfined, the program's own
/// children (the shell's commands, soffice's soffice.bin) do not get it and
/// would go on working on the plaintext. In bubblewrap, the namespace's
/// first process is forked by bwrap without it and sets bwrap's own only
/// later: had we died in between, it would run its job to the end, orphaned.
///
/// So every run happens in the process group of a small shell that waits on
/// a pipe only this process holds open. When the pipe ends before the run
/// does (we were killed), it kills the group and the processes it was told
/// of (bwrap's namespace init, which leaves the group with `setsid`: it is
/// told of before it may, see `run_bwrap`). After the run it is killed
/// quietly, before its pipe closes, so it never acts after a normal end.
struct Watchdog {
    child: std::process::Child,
}

impl Watchdog {
    /// Starts it as the leader of a new process group, holding `hold` (a
    /// descriptor it keeps open and never uses) until it ends.
    fn start(hold: Option<RawFd>) -> io::Result<Watchdog> {
        let mut c = Command::new("/bin/sh");
        c.args([
            "-c",
            "k=; while read p; do k=\"$k $p\"; done; kill -9 $k -$$ 2>/dev/null",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        if let Some(fd) = hold {
            // SAFETY: only async-signal-safe calls (fcntl, dup2) between
            // fork and exec.
            unsafe {
                c.pre_exec(move || place_descriptors(&[(fd, 3)]));
            }
        }
        Ok(Watchdog { child: c.spawn()? })
    }

    /// The process group every process of the run is put in.
    fn group(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// One more process to kill, outside the group.
    fn also(&mut self, pid: libc::pid_t) {
        if let Some(w) = self.child.stdin.as_mut() {
            let _ = writeln!(w, "{pid}");
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Killed before its pipe closes, so it never acts after a normal end.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The host pid of the first process in bwrap's namespaces, from what bwrap
/// writes to its `--info-fd` (`{"child-pid": N, …}`); `None` when bwrap
/// ended without one (it failed to start: its output says why).
fn namespace_init(r: io::PipeReader, wall: Duration) -> Result<Option<libc::pid_t>, SandboxError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.take(1 << 16).read_to_end(&mut v);
        let _ = tx.send(v);
    });
    let v = rx
        .recv_timeout(wall)
        .map_err(|_| SandboxError::Timeout(wall))?;
    let text = String::from_utf8_lossy(&v);
    Ok(text.split_once("\"child-pid\":").and_then(|(_, rest)| {
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok().filter(|&p: &libc::pid_t| p > 1)
    }))
}

/// Puts each descriptor `from` at `to` in a child between fork and exec,
/// inheritable there. Async-signal-safe.
fn place_descriptors(moves: &[(RawFd, RawFd)]) -> io::Result<()> {
    // First out of the way of every target (the sources are close-on-exec
    // copies), then into place (dup2 clears the flag).
    let mut high = [0 as RawFd; 64];
    if moves.len() > high.len() {
        return Err(io::Error::other("too many descriptors"));
    }
    for (i, (from, _)) in moves.iter().enumerate() {
        // SAFETY: fcntl(2) on a descriptor of this process.
        let h = unsafe { libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 100) };
        if h < 0 {
            return Err(io::Error::last_os_error());
        }
        high[i] = h;
    }
    for (i, (_, to)) in moves.iter().enumerate() {
        // SAFETY: dup2(2) of a descriptor of this process.
        if unsafe { libc::dup2(high[i], *to) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Spawns `c` in the process group `group` (a [`Watchdog`]'s) with the
/// memory and core limits, and the descriptors `moves` (from, to) placed for
/// it.
fn spawn_limited(
    c: &mut Command,
    limits: &Limits,
    moves: Vec<(RawFd, RawFd)>,
    group: libc::pid_t,
) -> io::Result<std::process::Child> {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mem = limits.memory;
    let me = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit, fcntl,
    // dup2, setpgid, setrlimit) between fork and exec, on memory allocated
    // before the fork.
    unsafe {
        c.pre_exec(move || {
            // Killed with us, from the first instant (bwrap's own
            // --die-with-parent comes later, after its start): the signal
            // is kept across exec. Had we died already, stop here.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != me {
                libc::_exit(127);
            }
            place_descriptors(&moves)?;
            // The watchdog's process group, so a timeout kills everything
            // in it, and so does the watchdog when we die.
            if libc::setpgid(0, group) != 0 {
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
    c.spawn()
}

type Reader = std::thread::JoinHandle<io::Result<Vec<u8>>>;

fn capped_reader(r: Box<dyn Read + Send>, cap: usize, over: Arc<AtomicBool>) -> Reader {
    std::thread::spawn(move || -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        r.take(cap as u64 + 2).read_to_end(&mut v)?;
        // +1 for an output's header byte.
        if v.len() > cap + 1 {
            over.store(true, Ordering::SeqCst);
            v.truncate(cap);
        }
        Ok(v)
    })
}

fn join_reader(t: Reader) -> Result<Vec<u8>, SandboxError> {
    t.join()
        .map_err(|_| SandboxError::Io(io::Error::other("reader panicked")))?
        .map_err(SandboxError::Io)
}

/// Kills a run: the process group, the process outside it, and the child.
fn kill_run(child: &mut std::process::Child, group: libc::pid_t, also: Option<libc::pid_t>) {
    // SAFETY: kill(2) on the watchdog's process group (its leader is our
    // unreaped child, so the id is not reused) and on bwrap's namespace init.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
        if let Some(p) = also {
            libc::kill(p, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Feeds stdin, collects stdout and stderr, and kills the process group at
/// the time limit or when an output is over its cap.
fn supervise(
    child: &mut std::process::Child,
    group: libc::pid_t,
    also: Option<libc::pid_t>,
    input: &[u8],
    limits: &Limits,
    over: &Arc<AtomicBool>,
) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), SandboxError> {
    let mut stdin = child.stdin.take().expect("piped");
    let input = zeroize::Zeroizing::new(input.to_vec());
    let writer = std::thread::spawn(move || {
        // A command that does not read its input closes the pipe: fine.
        let _ = stdin.write_all(&input);
    });
    let cap = limits.output;
    let out_t = capped_reader(
        Box::new(child.stdout.take().expect("piped")),
        cap,
        over.clone(),
    );
    let err_t = capped_reader(
        Box::new(child.stderr.take().expect("piped")),
        cap,
        over.clone(),
    );
    let start = Instant::now();
    let kill = |child: &mut std::process::Child| kill_run(child, group, also);
    let status = loop {
        if let Some(s) = child.try_wait().map_err(SandboxError::Io)? {
            break s;
        }
        if over.load(Ordering::SeqCst) {
            kill(child);
            return Err(SandboxError::OutputTooLarge(cap));
        }
        if start.elapsed() >= limits.wall {
            kill(child);
            return Err(SandboxError::Timeout(limits.wall));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Anything left in the group (the program is gone) goes with it, the
    // watchdog too (its leader: the group cannot have been reused).
    // SAFETY: kill(2) on the watchdog's process group.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
    let _ = writer.join();
    let stdout = join_reader(out_t)?;
    let stderr = join_reader(err_t)?;
    if over.load(Ordering::SeqCst) {
        return Err(SandboxError::OutputTooLarge(cap));
    }
    Ok((status, stdout, stderr))
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
