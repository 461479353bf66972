// dup and sameFile for the scripted readers' fake fds (numbers no file has):
// a reader built with new IteratorReader(fd, { io }) reads from a dup of
// `fd` and checks its public fd with sameFile before closing it.

/** A table of fake fds: each dup() is a new number for the same file, open until closed(). */
export function fakeFdTable(firstDup = 1000) {
  const open = new Set<number>();
  let next = firstDup;
  return {
    dup: (fd: number): number => {
      open.add(fd);
      open.add(next);
      return next++;
    },
    sameFile: (a: number, b: number): boolean => open.has(a) && open.has(b),
    /** Marks `fd` closed (call it from the fake io's close). */
    closed: (fd: number): void => {
      open.delete(fd);
    },
  };
}
