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

    let tmp = dir.join(temp_name(file_name.to_string_lossy().as_ref()));
    let written = write_and_sync(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // Best effort: the temporary may not exist if creating it failed.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(&dir);
    Ok(())
}

/// A name no other writer in this process or another one will pick:
/// `.name.tmp.<pid>.<counter>`. The leading dot hides it from `ls`.
fn temp_name(file_name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{file_name}.tmp.{}.{n}", std::process::id())
}

fn write_and_sync(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    // `create_new` refuses to follow a stale file or link left at that name.
    let mut file = File::options().write(true).create_new(true).open(tmp)?;
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

    /// A fresh, empty directory under the system temp dir for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("minimax-fsutil-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
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
        let dir = scratch("replace");
        let target = dir.join("a/b/out.txt");
        write_atomic(&target, b"first").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"first");
        write_atomic(&target, b"second, longer").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second, longer");
        // Only the target is left: no temporary files behind.
        assert_eq!(entries(&dir.join("a/b")), vec!["out.txt".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failed_write_leaves_target_and_no_temp() {
        let dir = scratch("fail");
        let target = dir.join("out.txt");
        write_atomic(&target, b"kept").unwrap();
        // A directory where the file should be: the rename must fail.
        let blocked = dir.join("sub");
        fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomic(&blocked, b"nope").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"kept");
        assert_eq!(entries(&dir), vec!["out.txt".to_string(), "sub".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_a_path_without_a_file_name() {
        let err = write_atomic("/", b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
