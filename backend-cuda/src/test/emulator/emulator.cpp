// A CPU stand-in for libcuda.so.1 that the backend's tests load (based4j.cuda.driverLibrary) on machines
// without a GPU. It exports the driver functions CudaDriver binds; "device" memory is host memory; modules
// accept any image and resolve kernels by name from the .cu sources compiled into this library; launches run
// synchronously, block after block, each CUDA thread a fiber (see b4j_emulator.h). Device allocations are
// poisoned with 0xFF bytes (NaN) and fenced by canaries that are checked when freed, and every block's shared
// memory starts poisoned, so unwritten outputs, reads of unwritten shared memory and overruns surface in tests.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "b4j_emulator.h"

namespace b4j_emu {

// ------------------------------------------------------------------------------------------ kernel registry

static std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> r;
    return r;
}

void register_kernel(const char* name, Entry entry) { registry()[name] = std::move(entry); }

// ------------------------------------------------------------------------------------------ fibers

namespace {

constexpr size_t STACK_BYTES = 256 * 1024;
enum State { READY, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
    ucontext_t start;
    jmp_buf jb;
    bool started = false;
    State state = READY;
    dim3 tid;
    int warp = 0;
    int lane = 0;
    char* stack = nullptr;
};

struct Block {
    std::vector<Fiber> fibers;
    std::vector<int> warpLive;
    std::vector<int> warpSize;
    std::vector<int> warpWaiting;
    std::vector<uint64_t> exch;
    int live = 0;
    int atBlock = 0;
    jmp_buf sched;
    dim3 bid, bdim, gdim;
    std::vector<unsigned char> smem;
    const Entry* entry = nullptr;
    void** params = nullptr;
};

thread_local Block* current = nullptr;
thread_local Fiber* running = nullptr;
std::vector<char*> stackPool;
std::mutex launchMutex;

char* take_stack(size_t i) {
    while (stackPool.size() <= i) {
        void* p = mmap(nullptr, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) fail("mmap of a fiber stack failed");
        stackPool.push_back(static_cast<char*>(p));
    }
    return stackPool[i];
}

void fiber_main() {
    Block* b = current;
    (*b->entry)(b->params);
    Fiber* f = running;
    f->state = DONE;
    b->live--;
    b->warpLive[f->warp]--;
    _longjmp(b->sched, 1);
}

void yield_to_scheduler() {
    Fiber* f = running;
    if (_setjmp(f->jb) == 0) _longjmp(current->sched, 1);
}

void resume(Block& b, Fiber& f) {
    running = &f;
    if (_setjmp(b.sched) == 0) {
        if (!f.started) {
            f.started = true;
            setcontext(&f.start);
        }
        _longjmp(f.jb, 1);
    }
}

void run_block(Block& b) {
    for (;;) {
        bool progressed = false;
        for (Fiber& f : b.fibers) {
            if (f.state == READY) {
                resume(b, f);
                progressed = true;
            }
        }
        if (b.live == 0) return;
        if (progressed) continue;
        // every live fiber waits at a barrier: release the ones that are complete
        bool released = false;
        if (b.atBlock == b.live) {
            for (Fiber& f : b.fibers)
                if (f.state == AT_BLOCK_BARRIER) f.state = READY;
            b.atBlock = 0;
            released = true;
        } else {
            for (size_t w = 0; w < b.warpLive.size(); ++w) {
                if (b.warpWaiting[w] > 0 && b.warpWaiting[w] == b.warpLive[w]) {
                    for (Fiber& f : b.fibers)
                        if (f.warp == (int)w && f.state == AT_WARP_BARRIER) f.state = READY;
                    b.warpWaiting[w] = 0;
                    released = true;
                }
            }
        }
        if (!released) {
            fprintf(stderr,
                    "b4j emulator: deadlock in block (%u,%u,%u): %d live threads, %d at __syncthreads, the others "
                    "at warp barriers of warps whose other lanes wait elsewhere (divergent barrier)\n",
                    b.bid.x, b.bid.y, b.bid.z, b.live, b.atBlock);
            abort();
        }
    }
}

}  // namespace

const dim3& thread_idx() { return running->tid; }
const dim3& block_idx() { return current->bid; }
const dim3& block_dim() { return current->bdim; }
const dim3& grid_dim() { return current->gdim; }
unsigned char* dynamic_smem() { return current->smem.data(); }

void fail(const char* what) {
    fprintf(stderr, "b4j emulator: %s\n", what);
    abort();
}

void sync_block() {
    running->state = AT_BLOCK_BARRIER;
    current->atBlock++;
    yield_to_scheduler();
}

void sync_warp() {
    running->state = AT_WARP_BARRIER;
    current->warpWaiting[running->warp]++;
    yield_to_scheduler();
}

uint64_t exchange(uint64_t value, int lane, bool xorMode) {
    Block* b = current;
    Fiber* f = running;
    if (b->warpLive[f->warp] != 32) fail("warp shuffle while lanes of the warp have exited or the warp is partial");
    b->exch[f->warp * 32 + f->lane] = value;
    sync_warp();
    const int src = xorMode ? (f->lane ^ lane) : lane;
    const uint64_t r = b->exch[f->warp * 32 + src];
    sync_warp();
    return r;
}

}  // namespace b4j_emu

// ------------------------------------------------------------------------------------------ driver API

using namespace b4j_emu;

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

namespace {

constexpr size_t CANARY = 64;
constexpr unsigned char CANARY_BYTE = 0xA5;
std::mutex memMutex;
std::map<CUdeviceptr, size_t> allocations;

struct Module {
    int dummy;
};
struct Event {
    std::chrono::steady_clock::time_point at;
};

int dummyContext, dummyStream;

}  // namespace

extern "C" {

CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int* v) {
    *v = 13000;
    return 0;
}
CUresult cuDeviceGetCount(int* n) {
    *n = 1;
    return 0;
}
CUresult cuDeviceGet(int* d, int ordinal) {
    if (ordinal != 0) return 101;
    *d = 0;
    return 0;
}
CUresult cuDeviceGetName(char* name, int len, int) {
    snprintf(name, (size_t)len, "%s", "based4j CUDA emulator (CPU)");
    return 0;
}
CUresult cuDeviceGetAttribute(int* v, int attribute, int) {
    switch (attribute) {
        case 16: *v = 4; break;          // multiprocessors
        case 75: *v = 9; break;          // compute capability major
        case 76: *v = 0; break;          // minor
        case 97: *v = 232448; break;     // max shared memory per block (opt-in), as an H100/H200
        default: *v = 0;
    }
    return 0;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int) {
    *bytes = (size_t)1 << 32;
    return 0;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) {
    *ctx = &dummyContext;
    return 0;
}
CUresult cuDevicePrimaryCtxRelease_v2(int) { return 0; }
CUresult cuCtxSetCurrent(void*) { return 0; }
CUresult cuCtxSynchronize() { return 0; }

CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned, int*, void**) {
    if (image == nullptr) return 1;
    *module = new Module();
    return 0;
}
CUresult cuModuleUnload(void* module) {
    delete static_cast<Module*>(module);
    return 0;
}
CUresult cuModuleGetFunction(void** function, void*, const char* name) {
    auto it = registry().find(name);
    if (it == registry().end()) return 500;  // CUDA_ERROR_NOT_FOUND
    *function = &it->second;
    return 0;
}
CUresult cuFuncSetAttribute(void*, int, int) { return 0; }

CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned sharedBytes, void*, void** params, void** extra) {
    if (extra != nullptr || by != 1 || bz != 1 || bx == 0 || bx > 1024) return 1;
    std::lock_guard<std::mutex> guard(launchMutex);
    Block b;
    b.entry = static_cast<const Entry*>(function);
    b.params = params;
    b.bdim = {bx, by, bz};
    b.gdim = {gx, gy, gz};
    const int warps = (int)((bx + 31) / 32);
    for (unsigned z = 0; z < gz; ++z) {
        for (unsigned y = 0; y < gy; ++y) {
            for (unsigned x = 0; x < gx; ++x) {
                b.bid = {x, y, z};
                b.fibers.assign(bx, Fiber());
                b.warpLive.assign(warps, 0);
                b.warpSize.assign(warps, 0);
                b.warpWaiting.assign(warps, 0);
                b.exch.assign((size_t)warps * 32, 0);
                b.smem.assign(sharedBytes, 0xFF);
                b.live = (int)bx;
                b.atBlock = 0;
                for (unsigned t = 0; t < bx; ++t) {
                    Fiber& f = b.fibers[t];
                    f.tid = {t, 0, 0};
                    f.warp = (int)(t / 32);
                    f.lane = (int)(t % 32);
                    b.warpLive[f.warp]++;
                    b.warpSize[f.warp]++;
                    getcontext(&f.start);
                    f.stack = take_stack(t);
                    f.start.uc_stack.ss_sp = f.stack;
                    f.start.uc_stack.ss_size = 256 * 1024;
                    f.start.uc_link = nullptr;
                    makecontext(&f.start, fiber_main, 0);
                }
                current = &b;
                run_block(b);
                current = nullptr;
                running = nullptr;
            }
        }
    }
    return 0;
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    if (bytes == 0) return 1;
    unsigned char* raw = static_cast<unsigned char*>(aligned_alloc(256, ((bytes + 2 * CANARY) + 255) / 256 * 256));
    if (raw == nullptr) return 2;
    memset(raw, CANARY_BYTE, CANARY);
    memset(raw + CANARY, 0xFF, bytes);
    memset(raw + CANARY + bytes, CANARY_BYTE, CANARY);
    *p = (CUdeviceptr)(raw + CANARY);
    std::lock_guard<std::mutex> guard(memMutex);
    allocations[*p] = bytes;
    return 0;
}

CUresult cuMemFree_v2(CUdeviceptr p) {
    size_t bytes;
    {
        std::lock_guard<std::mutex> guard(memMutex);
        auto it = allocations.find(p);
        if (it == allocations.end()) return 1;
        bytes = it->second;
        allocations.erase(it);
    }
    unsigned char* user = reinterpret_cast<unsigned char*>(p);
    for (size_t i = 0; i < CANARY; ++i) {
        if (user[-1 - (long)i] != CANARY_BYTE || user[bytes + i] != CANARY_BYTE) {
            fprintf(stderr, "b4j emulator: a kernel wrote outside an allocation of %zu bytes\n", bytes);
            abort();
        }
    }
    free(user - CANARY);
    return 0;
}

CUresult cuMemGetInfo_v2(size_t* freeBytes, size_t* total) {
    *freeBytes = (size_t)1 << 32;
    *total = (size_t)1 << 32;
    return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void*) {
    memcpy(reinterpret_cast<void*>(dst), src, n);
    return 0;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void*) {
    memcpy(dst, reinterpret_cast<const void*>(src), n);
    return 0;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void*) {
    memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), n);
    return 0;
}
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, void*) {
    memset(reinterpret_cast<void*>(dst), value, n);
    return 0;
}

CUresult cuStreamCreate(void** stream, unsigned) {
    *stream = &dummyStream;
    return 0;
}
CUresult cuStreamSynchronize(void*) { return 0; }
CUresult cuStreamDestroy_v2(void*) { return 0; }

CUresult cuEventCreate(void** event, unsigned) {
    *event = new Event();
    return 0;
}
CUresult cuEventRecord(void* event, void*) {
    static_cast<Event*>(event)->at = std::chrono::steady_clock::now();
    return 0;
}
CUresult cuEventSynchronize(void*) { return 0; }
CUresult cuEventElapsedTime_v2(float* ms, void* start, void* end) {
    *ms = std::chrono::duration<float, std::milli>(static_cast<Event*>(end)->at - static_cast<Event*>(start)->at)
              .count();
    return 0;
}
CUresult cuEventDestroy_v2(void* event) {
    delete static_cast<Event*>(event);
    return 0;
}

CUresult cuGetErrorName(CUresult code, const char** text) {
    switch (code) {
        case 0: *text = "CUDA_SUCCESS"; return 0;
        case 1: *text = "CUDA_ERROR_INVALID_VALUE"; return 0;
        case 2: *text = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
        case 101: *text = "CUDA_ERROR_INVALID_DEVICE"; return 0;
        case 500: *text = "CUDA_ERROR_NOT_FOUND"; return 0;
        default: *text = nullptr; return 1;
    }
}
CUresult cuGetErrorString(CUresult code, const char** text) {
    *text = code == 0 ? "no error" : "error reported by the based4j CUDA emulator";
    return 0;
}

}  // extern "C"
