// The only native code of @ts-ebpf/syscall: the bpf(2) syscall itself, the
// addresses of JS buffers, iterator fds made inside another network
// namespace (on a thread of their own), and raising RLIMIT_MEMLOCK. Every other attr layout is built in
// TypeScript.
#include <napi.h>

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

bool BufferSpan(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  *data = u8.Data();
  *len = u8.ByteLength();
  return true;
}

// bpf(cmd, attr, size, [offset, buffer | null, length]...) -> result >= 0 or -errno.
// Each (offset, buffer, length) triple writes the buffer's address (or 0 for
// null) as a little-endian u64 into attr at offset before the call, so one
// crossing carries a whole command. `length` is how many bytes the kernel will
// read or write through that pointer: a buffer shorter than that (a wrong
// size, a detached or shrunk ArrayBuffer) is refused here, right before the
// syscall, whatever the TypeScript checks before it concluded.
Napi::Value Bpf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t argc = info.Length();
  if (argc < 3 || (argc - 3) % 3 != 0 || !info[0].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "bpf(cmd, attr, size, [offset, buffer, length]...)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* attr;
  size_t attrLen;
  if (!BufferSpan(info[1], &attr, &attrLen)) {
    Napi::TypeError::New(env, "attr must be a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t size = info[2].As<Napi::Number>().Int64Value();
  if (size < 0 || static_cast<size_t>(size) > attrLen) {
    Napi::RangeError::New(env, "size exceeds attr").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Every check runs before the first address is written: a refused call
  // leaves attr as it was.
  for (size_t i = 3; i < argc; i += 3) {
    if (!info[i].IsNumber() || !info[i + 2].IsNumber()) {
      Napi::TypeError::New(env, "pointer offset and length must be numbers")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t off = info[i].As<Napi::Number>().Int64Value();
    if (off < 0 || static_cast<size_t>(off) + 8 > attrLen) {
      Napi::RangeError::New(env, "pointer offset outside attr").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double need = info[i + 2].As<Napi::Number>().DoubleValue();
    if (!(need >= 0 && need <= 9007199254740991.0)) {
      Napi::RangeError::New(env, "pointer length must be a non-negative integer")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info[i + 1].IsNull() || info[i + 1].IsUndefined()) continue;
    uint8_t* data;
    size_t len;
    if (!BufferSpan(info[i + 1], &data, &len)) {
      Napi::TypeError::New(env, "pointer target must be a Uint8Array or null")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (static_cast<double>(len) < need) {
      std::string msg = "buffer for the pointer at attr offset " + std::to_string(off) +
                        " has " + std::to_string(len) + " bytes, the kernel uses " +
                        std::to_string(static_cast<uint64_t>(need));
      Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  for (size_t i = 3; i < argc; i += 3) {
    int64_t off = info[i].As<Napi::Number>().Int64Value();
    uint64_t addr = 0;
    if (!info[i + 1].IsNull() && !info[i + 1].IsUndefined()) {
      uint8_t* data;
      size_t len;
      BufferSpan(info[i + 1], &data, &len);
      addr = reinterpret_cast<uintptr_t>(data);
    }
    std::memcpy(attr + off, &addr, 8);  // x86-64 and arm64 are little-endian
  }
  int cmd = info[0].As<Napi::Number>().Int32Value();
  long r = syscall(__NR_bpf, cmd, attr, static_cast<unsigned int>(size));
  return Napi::Number::New(env, r < 0 ? -errno : static_cast<double>(r));
}

// address(buffer) -> bigint: for handles that keep a buffer alive and preset
// its address in an attr once (the MAP_LOOKUP_ELEM fast path).
Napi::Value Address(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  if (info.Length() != 1 || !BufferSpan(info[0], &data, &len)) {
    Napi::TypeError::New(info.Env(), "address(Uint8Array)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)));
}

// dupAbove2(fd) -> a new close-on-exec fd >= 3 for the same file, or -errno.
// Handles own such dups (libbpf's ensure_good_fd: fds 0-2 are stdio, and
// code that treats 0 as "no fd" must never see a BPF object there).
Napi::Value DupAbove2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "dupAbove2(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t fd = info[0].As<Napi::Number>().Int64Value();
  if (fd < 0 || fd > 0x7fffffff) {
    Napi::RangeError::New(env, "fd out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int r = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 3);
  return Napi::Number::New(env, r < 0 ? -errno : r);
}

// sameFile(a, b) -> 0 when fds a and b refer to the same open file
// (kcmp KCMP_FILE), 1 when they do not, or -errno (ENOSYS without CONFIG_KCMP;
// EBADF when one is not open). A handle checks its public fd with it before
// handing it out or closing it: a number closed and reused behind its back is
// not its own any more.
Napi::Value SameFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "sameFile(fd, fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t a = info[0].As<Napi::Number>().Int64Value();
  int64_t b = info[1].As<Napi::Number>().Int64Value();
  if (a < 0 || a > 0x7fffffff || b < 0 || b > 0x7fffffff) {
    Napi::RangeError::New(env, "fd out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pid_t self = getpid();
  long r = syscall(SYS_kcmp, self, self, KCMP_FILE, static_cast<unsigned long>(a),
                   static_cast<unsigned long>(b));
  return Napi::Number::New(env, r < 0 ? -errno : (r == 0 ? 0 : 1));
}

// The work of one iterCreateInNetns call, done on a thread of its own.
struct NetnsIterJob {
  uint32_t linkFd;
  std::vector<int> nsFds;
  // Per namespace: the new iterator fd, or -errno of setns (setnsFailed set) or of BPF_ITER_CREATE.
  std::vector<long> results;
  std::vector<bool> setnsFailed;
  // The calling thread (blocked in pthread_join meanwhile), whose namespace this one returns to.
  long callerTid;
};

void* RunNetnsIterJob(void* arg) {
  auto* job = static_cast<NetnsIterJob*>(arg);
  for (size_t i = 0; i < job->nsFds.size(); i++) {
    // setns(CLONE_NEWNET) changes the network namespace of this thread only
    // (each task has its own nsproxy); the process's other threads, the
    // event loop among them, stay where they are. The thread ends afterwards.
    if (setns(job->nsFds[i], CLONE_NEWNET) != 0) {
      job->results[i] = -errno;
      job->setnsFailed[i] = true;
      continue;
    }
    // The iterator's seq_file takes the creating task's network namespace
    // (bpf_iter_init_seq_net: current->nsproxy->net_ns) when the fd is made.
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.iter_create.link_fd = job->linkFd;
    long r = syscall(__NR_bpf, BPF_ITER_CREATE, &attr, sizeof(attr.iter_create));
    job->results[i] = r < 0 ? -errno : r;
  }
  // The caller's namespace entered again before the thread ends: joined is not
  // gone (the kernel wakes the joiner from do_exit before it drops the thread's
  // namespaces), and until then /proc/self/task lists a thread of the process
  // in the last namespace entered. Opened after the loop, so the fd cannot take
  // the number of a namespace fd the caller closed (that one stays EBADF).
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/task/%ld/ns/net", job->callerTid);
  int home = open(path, O_RDONLY | O_CLOEXEC);
  if (home >= 0) {
    setns(home, CLONE_NEWNET);
    close(home);
  }
  return nullptr;
}

// iterCreateInNetns(linkFd, nsFds[]) -> [{ fd } | { errno, setns }]: one
// BPF_ITER_CREATE per network namespace fd, each made by a thread that has
// entered that namespace, so the iterator walks that namespace's sockets or
// routes. The calling thread's namespaces never change. The thread is joined
// before returning (each step is a syscall that does not block).
Napi::Value IterCreateInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "iterCreateInNetns(linkFd, nsFds[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t linkFd = info[0].As<Napi::Number>().Int64Value();
  if (linkFd < 0 || linkFd > 0x7fffffff) {
    Napi::RangeError::New(env, "linkFd out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array fds = info[1].As<Napi::Array>();
  uint32_t n = fds.Length();
  if (n > 65536) {
    Napi::RangeError::New(env, "too many namespace fds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  NetnsIterJob job;
  job.linkFd = static_cast<uint32_t>(linkFd);
  job.callerTid = syscall(SYS_gettid);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = fds.Get(i);
    if (!v.IsNumber()) {
      Napi::TypeError::New(env, "namespace fds must be numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t fd = v.As<Napi::Number>().Int64Value();
    if (fd < 0 || fd > 0x7fffffff) {
      Napi::RangeError::New(env, "namespace fd out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    job.nsFds.push_back(static_cast<int>(fd));
  }
  job.results.assign(n, 0);
  job.setnsFailed.assign(n, false);
  Napi::Array out = Napi::Array::New(env, n);
  if (n == 0) return out;
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, RunNetnsIterJob, &job);
  if (err != 0) {
    Napi::Error::New(env, std::string("pthread_create: ") + std::strerror(err))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  pthread_join(thread, nullptr);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Object o = Napi::Object::New(env);
    if (job.results[i] >= 0) {
      o.Set("fd", Napi::Number::New(env, static_cast<double>(job.results[i])));
    } else {
      o.Set("errno", Napi::Number::New(env, static_cast<double>(-job.results[i])));
      o.Set("setns", Napi::Boolean::New(env, job.setnsFailed[i]));
    }
    out.Set(i, o);
  }
  return out;
}

// Raises RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF maps and
// programs to, as libbpf does: to infinity when the process may (it needs
// CAP_SYS_RESOURCE above the hard limit), else the soft limit to the hard one.
// 0: now unlimited; 1: soft raised to the hard limit; -errno: unchanged.
Napi::Value RaiseMemlockLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0) return Napi::Number::New(env, 0);
  int err = errno;
  struct rlimit current;
  if (getrlimit(RLIMIT_MEMLOCK, &current) != 0) return Napi::Number::New(env, -errno);
  if (current.rlim_cur == current.rlim_max) return Napi::Number::New(env, -err);
  current.rlim_cur = current.rlim_max;
  if (setrlimit(RLIMIT_MEMLOCK, &current) != 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, 1);
}

// crc32(Uint8Array) -> the CRC-32 of its bytes (IEEE 802.3, as zlib's crc32),
// slicing by 8. For bpf-iter's code-cache check, which with zlib.crc32 would
// load node:zlib and node:stream (~3.5 ms of a run's start-up).
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      for (int k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    }
  }
};

// Built once, on first use, thread-safely (a function-local static): the
// addon's Init runs again in every worker thread that loads it.
static const CrcTables& Crc() {
  static const CrcTables tables;
  return tables;
}

Napi::Value Crc32(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  if (info.Length() != 1 || !BufferSpan(info[0], &data, &len)) {
    Napi::TypeError::New(info.Env(), "crc32(Uint8Array)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const auto& crc_tables = Crc().t;
  uint32_t c = 0xFFFFFFFFu;
  const uint8_t* p = data;
  for (; len >= 8; len -= 8, p += 8) {
    // Byte by byte into words: no unaligned loads, any host byte order.
    uint32_t lo = c ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                       uint32_t(p[3]) << 24);
    c = crc_tables[7][lo & 0xFF] ^ crc_tables[6][(lo >> 8) & 0xFF] ^
        crc_tables[5][(lo >> 16) & 0xFF] ^ crc_tables[4][lo >> 24] ^ crc_tables[3][p[4]] ^
        crc_tables[2][p[5]] ^ crc_tables[1][p[6]] ^ crc_tables[0][p[7]];
  }
  for (; len > 0; len--, p++) c = (c >> 8) ^ crc_tables[0][(c ^ *p) & 0xFF];
  return Napi::Number::New(info.Env(), static_cast<double>(c ^ 0xFFFFFFFFu));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bpf", Napi::Function::New(env, Bpf, "bpf"));
  exports.Set("address", Napi::Function::New(env, Address, "address"));
  exports.Set("dupAbove2", Napi::Function::New(env, DupAbove2, "dupAbove2"));
  exports.Set("sameFile", Napi::Function::New(env, SameFile, "sameFile"));
  exports.Set("iterCreateInNetns",
              Napi::Function::New(env, IterCreateInNetns, "iterCreateInNetns"));
  exports.Set("raiseMemlockLimit",
              Napi::Function::New(env, RaiseMemlockLimit, "raiseMemlockLimit"));
  exports.Set("crc32", Napi::Function::New(env, Crc32, "crc32"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ts_ebpf_syscall, Init)
