//! Writing files whole or not at all.
//!
//! A checkpoint or report that is cut short by a crash (or by Ctrl-C in the
//! middle of a write) is worse than no file: the next run would try to read
//! it. [`write_atomic`] avoids that with the classic recipe:
//!
//! 1. write the bytes to a temporary file *in the same directory* (a rename
//!    is only atomic within one file system);
//! 2. `fsync` it, so its contents are on disk before its name is;
//! 3. rename it over the target: readers see either the old file or the new
//!    one, never a half-written one;
//! 4. `fsync` the directory, so the rename itself survives a power cut
//!    (best effort: not every platform lets a directory be opened).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Writes `bytes` to `path` atomically, creating missing parent directories.
///
/// On error the temporary file is removed and the target is left untouched.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
    let path = path.as_ref();
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{}: not a file path", path.display()))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;

    let file_name = file_name.to_string_lossy();
    remove_stale_temps(&dir, &file_name);
    let (tmp, mut file) = create_temp(&dir, &file_name)?;
    let written = write_and_sync(&mut file, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // Best effort: the temporary may not exist if creating it failed.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir);
    Ok(())
}

/// The prefix of every temporary file for `file_name`: `.name.tmp.`. The
/// leading dot hides it from `ls`.
fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.tmp.")
}

/// Creates a new temporary file for `file_name` in `dir`, named
/// `.name.tmp.<pid>.<nanoseconds>.<counter>`. A process killed mid-write
/// leaves its temporary behind, and in a container the next trainer often
/// has the same PID, so the name also carries the time, and a name that
/// exists anyway is skipped for the next one rather than reported:
/// `create_new` never opens (or follows a link at) an existing name.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut last = None;
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}{}.{nanos}.{n}", temp_prefix(file_name), std::process::id());
        let tmp = dir.join(name);
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("the loop ran"))
}

/// Temporaries older than this were left by a writer that died: no
/// checkpoint or report takes this long to write.
const STALE_AFTER: Duration = Duration::from_secs(600);

/// Removes the temporaries of `file_name` in `dir` left by writers that
/// died: at any age when the PID in its name is another process's that no
/// longer exists (where `/proc` tells), else when older than
/// [`STALE_AFTER`]; a write in progress is never that old. Best effort:
/// errors are ignored, since a stale file only wastes space.
fn remove_stale_temps(dir: &Path, file_name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let prefix = temp_prefix(file_name);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        if writer_is_gone(pid) || old.is_some_and(|age| age > STALE_AFTER) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether the process `pid` that named a temporary is known to be gone:
/// not this process (another of its threads may be writing), and absent
/// from `/proc` on a system that has one. Unknown: not gone.
fn writer_is_gone(pid: Option<u32>) -> bool {
    match pid {
        Some(pid) if pid != std::process::id() => {
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

fn write_and_sync(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes the directory entry of a rename. Errors are ignored: on some
/// platforms (Windows) a directory cannot be opened like a file.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory under the system temp dir for one test,
    /// removed when dropped (even when the test fails).
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new().prefix(&format!("minimax-fsutil-{name}-")).tempdir().unwrap()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_creates_parents_and_replaces() {
        let tmp = scratch("replace");
        let dir = tmp.path();
        let target = dir.join("a/b/out.txt");
        write_atomic(&target, b"first").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"first");
        write_atomic(&target, b"second, longer").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second, longer");
        // Only the target is left: no temporary files behind.
        assert_eq!(entries(&dir.join("a/b")), vec!["out.txt".to_string()]);
    }

    #[test]
    fn failed_write_leaves_target_and_no_temp() {
        let tmp = scratch("fail");
        let dir = tmp.path();
        let target = dir.join("out.txt");
        write_atomic(&target, b"kept").unwrap();
        // A directory where the file should be: the rename must fail.
        let blocked = dir.join("sub");
        fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomic(&blocked, b"nope").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert_eq!(entries(dir), vec!["out.txt".to_string(), "sub".to_string()]);
    }

    #[test]
    fn temporaries_left_by_a_killed_writer_with_our_pid_do_not_block_a_save() {
        // A trainer killed by `kill -9` leaves `.out.txt.tmp.<pid>.<n>`; in a
        // container the next trainer has the same PID. The old names were
        // exactly these, and a later save failed with "File exists".
        let tmp = scratch("stale-pid");
        let dir = tmp.path();
        let target = dir.join("out.txt");
        for n in 0..256 {
            fs::write(dir.join(format!(".out.txt.tmp.{}.{n}", std::process::id())), b"x").unwrap();
        }
        write_atomic(&target, b"saved").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"saved");
    }

    #[test]
    fn old_temporaries_are_removed_and_recent_ones_kept() {
        let tmp = scratch("stale-age");
        let dir = tmp.path();
        // The recent one carries this process's PID: a live writer's, so
        // only its age decides (a PID that does not exist would be removed).
        let recent_name = format!(".out.txt.tmp.{}.5.6", std::process::id());
        let (old, recent) = (dir.join(".out.txt.tmp.1.2.3"), dir.join(&recent_name));
        fs::write(&old, b"left by a dead writer").unwrap();
        fs::write(&recent, b"maybe being written").unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options().write(true).open(&old).unwrap().set_modified(an_hour_ago).unwrap();
        write_atomic(dir.join("out.txt"), b"saved").unwrap();
        assert_eq!(entries(dir), vec![recent_name, "out.txt".to_string()]);
    }

    /// README, "What we promise": temporaries never block a later save. A
    /// temporary whose writer's process no longer exists is removed at any
    /// age: 20 kills during `--save-every 1` left 7.3 MB that stayed for
    /// 600 s, and on a small disk one made the next resume fail (ENOSPC).
    #[test]
    fn a_temporary_whose_writer_is_gone_is_removed_at_any_age() {
        if !Path::new("/proc/self").exists() {
            println!("skipped: no /proc to tell whether a writer is alive");
            return;
        }
        let tmp = scratch("dead-writer");
        let dir = tmp.path();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let (gone, alive) = (
            dir.join(format!(".out.txt.tmp.{dead}.2.3")),
            dir.join(format!(".out.txt.tmp.{}.5.6", std::process::id())),
        );
        fs::write(&gone, b"left by a killed writer").unwrap();
        fs::write(&alive, b"maybe being written").unwrap();
        write_atomic(dir.join("out.txt"), b"saved").unwrap();
        let alive_name = alive.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(entries(dir), vec![alive_name, "out.txt".to_string()]);
    }

    #[test]
    fn rejects_a_path_without_a_file_name() {
        let err = write_atomic("/", b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
