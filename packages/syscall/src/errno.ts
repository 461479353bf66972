import { constants } from "node:os";

const byNumber = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Keep the first name for aliases (EAGAIN before EWOULDBLOCK, EOPNOTSUPP before ENOTSUP).
  if (!byNumber.has(value)) byNumber.set(value, name);
}
// Linux's preferred names where Node lists an alias first.
byNumber.set(11, "EAGAIN");
byNumber.set(35, "EDEADLK");
byNumber.set(95, "EOPNOTSUPP");
// Linux errnos Node does not list.
byNumber.set(77, "EBADFD");
byNumber.set(126, "ENOKEY");
// Kernel-internal values that bpf(2) leaks to user space (include/linux/errno.h).
byNumber.set(524, "ENOTSUPP");
byNumber.set(512, "ERESTARTSYS");

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EBADFD: 77,
  ENOTSUPP: 524,
} as const;

export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `errno ${errno}`;
}
