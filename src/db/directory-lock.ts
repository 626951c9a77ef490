import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

export class DirectoryLockedError extends Error {
  override name = "DirectoryLockedError";
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PGlite has no locking of its own: two processes on one data folder would corrupt it.
 * A pid file taken with O_EXCL keeps it to one; a file left by a dead process is taken over.
 */
export function acquireDirectoryLock(lockFile: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(readFileSync(lockFile, "utf8"), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
        throw new DirectoryLockedError(
          `The data folder is in use by process ${owner} (${lockFile}). Stop it first, or set DATA_DIR to another folder or DATABASE_URL to share a PostgreSQL database.`,
        );
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new DirectoryLockedError(`Could not take the data folder lock ${lockFile}`);
}
