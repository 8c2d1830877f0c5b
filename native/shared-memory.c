/*
 * forkpool's native part: the few calls Node itself lacks to share memory between processes.
 *
 *   memfd(name)            a new anonymous memory file (memfd_create), close-on-exec; returns its descriptor
 *   reserve(fd, size)      allocate the file's pages now (fallocate), so that a size the machine cannot hold
 *                          fails here, with the system's error, rather than as a SIGBUS when a page is touched
 *   map(fd, size, shared)  an ArrayBuffer over mmap() of the file. shared: MAP_SHARED, and the mapping takes
 *                          the descriptor, closing it when it ends; otherwise MAP_PRIVATE (copy on write), and
 *                          the descriptor stays the caller's
 *   unmap(arrayBuffer)     end a mapping now: detach the ArrayBuffer (its views read length 0), munmap, close
 *                          the descriptor it took; false if it had already ended
 *
 * Everything else (opening /proc/<pid>/fd/<n>, reading, writing, closing other descriptors) is done in
 * TypeScript with node:fs. The mapping's end is tied to the ArrayBuffer's: if nobody calls unmap(), the
 * ArrayBuffer's finalizer unmaps when it is collected or when its environment (a worker thread) ends, so a
 * thread that is terminated leaves neither a mapping nor a descriptor behind.
 *
 * Node-API only, version 8, context-aware (NAPI_MODULE_INIT), with no global state: the same binary loads in
 * every Node version from 20 on, in the main thread and in worker threads. System calls that glibc wraps only
 * in recent versions are made through syscall(2), so the binary needs no newer glibc than Node itself.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
/* Linux 6.3+: a memfd that can never be made executable. Required where vm.memfd_noexec is 2. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* The largest size accepted: what a double holds exactly, and what off_t and size_t hold. */
#define MAX_SIZE 9007199254740991.0

/* One mapping, shared by the ArrayBuffer's finalizer and unmap(); the finalizer frees it. */
typedef struct {
  void* addr;
  size_t size;
  int fd; /* the descriptor the mapping took, or -1 */
  int mapped;
  /* Set while map() makes the ArrayBuffer: a refusal may call the finalizer before map() has returned. */
  int creating;
  int finalized;
} mapping;

static const char* errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDQUOT: return "EDQUOT";
    default: return "UNKNOWN";
  }
}

/* Throw as Node throws a system error: `code` the errno's name, `errno` negative, `syscall` the call. */
static void throw_errno(napi_env env, const char* syscall_name, int err) {
  char message[160];
  const char* name = errno_name(err);
  snprintf(message, sizeof message, "%s: %s, %s", name, strerror(err), syscall_name);
  napi_value code, text, error, number, call;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &error) != napi_ok) {
    napi_throw_error(env, name, message);
    return;
  }
  if (napi_create_int32(env, -err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  if (napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &call) == napi_ok) {
    napi_set_named_property(env, error, "syscall", call);
  }
  napi_throw(env, error);
}

/* The call's arguments; false (with a TypeError thrown) if there are fewer than `count`. */
static int get_args(napi_env env, napi_callback_info info, size_t count, napi_value* args) {
  size_t given = count;
  if (napi_get_cb_info(env, info, &given, args, NULL, NULL) != napi_ok) return 0;
  if (given < count) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "missing argument");
    return 0;
  }
  return 1;
}

static int get_fd(napi_env env, napi_value value, int* fd) {
  if (napi_get_value_int32(env, value, fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fd must be a descriptor number");
    return 0;
  }
  return 1;
}

/* A size from 1 byte up. Size 0 must never reach mmap() or fallocate(), which refuse it. */
static int get_size(napi_env env, napi_value value, size_t* size) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= 1 && number <= MAX_SIZE) ||
      number != (double)(int64_t)number) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "size must be an integer from 1 to 2**53 - 1");
    return 0;
  }
  *size = (size_t)number;
  return 1;
}

static napi_value memfd(napi_env env, napi_callback_info info) {
  napi_value args[1], result;
  char name[250];
  if (!get_args(env, info, 1, args)) return NULL;
  if (napi_get_value_string_utf8(env, args[0], name, sizeof name, NULL) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "name must be a string");
    return NULL;
  }
  long fd = syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  /* Kernels before 6.3 do not know MFD_NOEXEC_SEAL and refuse it with EINVAL. */
  if (fd < 0 && errno == EINVAL) fd = syscall(SYS_memfd_create, name, MFD_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "memfd_create", errno);
    return NULL;
  }
  napi_create_int32(env, (int32_t)fd, &result);
  return result;
}

static napi_value reserve(napi_env env, napi_callback_info info) {
  napi_value args[2];
  int fd;
  size_t size;
  if (!get_args(env, info, 2, args) || !get_fd(env, args[0], &fd) || !get_size(env, args[1], &size)) return NULL;
  long done;
  /* A signal arriving while a large file's pages are allocated interrupts the call; it has made no promise. */
  do {
    done = syscall(SYS_fallocate, fd, 0, (off_t)0, (off_t)size);
  } while (done < 0 && errno == EINTR);
  if (done < 0) throw_errno(env, "fallocate", errno);
  return NULL;
}

/* munmap() and close(); the caller has taken the mapping out of use. */
static void release(napi_env env, mapping* m) {
  munmap(m->addr, m->size);
  if (m->fd >= 0) close(m->fd);
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)m->size, &adjusted);
}

/*
 * Runs once the ArrayBuffer's memory is no longer referenced: after it was collected, after unmap() detached
 * it, or when its environment ends. Only the first two can find it already unmapped.
 */
static void finalize(napi_env env, void* data, void* hint) {
  mapping* m = hint;
  (void)data;
  if (m->creating) {
    m->finalized = 1; /* map() cleans up */
    return;
  }
  if (m->mapped) release(env, m);
  free(m);
}

static napi_value map(napi_env env, napi_callback_info info) {
  napi_value args[3], result;
  int fd;
  size_t size;
  bool shared;
  if (!get_args(env, info, 3, args) || !get_fd(env, args[0], &fd) || !get_size(env, args[1], &size)) return NULL;
  if (napi_get_value_bool(env, args[2], &shared) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "shared must be a boolean");
    return NULL;
  }
  mapping* m = malloc(sizeof *m);
  if (m == NULL) {
    throw_errno(env, "malloc", ENOMEM);
    return NULL;
  }
  m->addr = mmap(NULL, size, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
  if (m->addr == MAP_FAILED) {
    int err = errno;
    free(m);
    throw_errno(env, "mmap", err);
    return NULL;
  }
  m->size = size;
  m->fd = -1;
  m->mapped = 1;
  m->creating = 1;
  m->finalized = 0;
  napi_status status = napi_create_external_arraybuffer(env, m->addr, size, finalize, m, &result);
  m->creating = 0;
  if (status != napi_ok) {
    /*
     * Runtimes whose memory sandbox allows no outside memory in an ArrayBuffer (Electron) refuse external
     * buffers; so does Node for a size over its Buffer limit, which calls the finalizer then, or (from Node
     * 22) schedules it. Whichever comes, it finds nothing mapped; if it never comes, `m` is all that is lost.
     */
    munmap(m->addr, size);
    m->mapped = 0;
    if (m->finalized) free(m);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      int refused = status == napi_no_external_buffers_allowed;
      napi_throw_error(env, refused ? "ERR_NO_EXTERNAL_BUFFERS" : "ERR_EXTERNAL_BUFFER",
                       refused ? "this runtime does not allow external ArrayBuffers"
                               : "the mapping could not be made into an ArrayBuffer");
    }
    return NULL;
  }
  /* From here the finalizer owns `m`; the wrap lets unmap() find it from the ArrayBuffer. */
  int64_t adjusted;
  napi_adjust_external_memory(env, (int64_t)size, &adjusted);
  if (napi_wrap(env, result, m, NULL, NULL, NULL) != napi_ok) {
    napi_detach_arraybuffer(env, result); /* the finalizer unmaps */
    napi_throw_error(env, "ERR_EXTERNAL_BUFFER", "the mapping could not be tracked");
    return NULL;
  }
  if (shared) m->fd = fd;
  return result;
}

static napi_value unmap(napi_env env, napi_callback_info info) {
  napi_value args[1], result;
  bool detached;
  mapping* m;
  if (!get_args(env, info, 1, args)) return NULL;
  if (napi_is_detached_arraybuffer(env, args[0], &detached) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer");
    return NULL;
  }
  /* Detached: unmapped already, by an earlier call or by the finalizer's environment ending. */
  if (detached) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  if (napi_unwrap(env, args[0], (void**)&m) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an ArrayBuffer made by map()");
    return NULL;
  }
  /*
   * Out of use before detaching: the finalizer may run as soon as the memory is unreferenced, and must then
   * find nothing left to do. Nothing reads the memory between the two steps: this thread runs no JavaScript.
   */
  mapping taken = *m;
  m->mapped = 0;
  if (napi_detach_arraybuffer(env, args[0]) != napi_ok) {
    m->mapped = 1;
    napi_throw_error(env, "ERR_EXTERNAL_BUFFER", "the mapping's ArrayBuffer could not be detached");
    return NULL;
  }
  release(env, &taken);
  napi_get_boolean(env, true, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"memfd", NULL, memfd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reserve", NULL, reserve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"map", NULL, map, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, unmap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) return NULL;
  return exports;
}
