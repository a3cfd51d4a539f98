/* A team of threads for the model-parallel per-sample kernel, and how its threads meet.

   The team is started once (fastmlp_team_open) and then runs jobs (fastmlp_team_run):
   the caller is thread 0 and the n - 1 others wait, between jobs, at the start barrier.
   Within a job the threads exchange through words of their own (fastmlp_announce,
   fastmlp_await). A waiting thread polls briefly (a partner that is running arrives
   within a sample's work), then yields, then sleeps, so that a partner the operating
   system has descheduled on a busy machine does not cost a core. Without POSIX threads
   (Windows builds) a team has one thread and runs each job on the caller. */
#ifndef FASTMLP_THREAD_TEAM_H
#define FASTMLP_THREAD_TEAM_H

#if (defined(__unix__) || defined(__APPLE__)) && defined(__GNUC__)
#define FASTMLP_HAVE_THREADS 1
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#else
#define FASTMLP_HAVE_THREADS 0
#endif

#define FASTMLP_MAX_THREADS 64
/* How long a thread waits at the barrier before it sleeps: it polls for
   FASTMLP_BARRIER_SPIN_NS, then yields its core between polls until FASTMLP_BARRIER_WAIT_NS
   have gone by, and only then sleeps on a condition variable. The budgets are times, not
   counts of polls: a pause lasts from a few cycles (AMD Zen 4) to 140 (Intel Skylake and
   later). A sleep must stay rare: on a virtual machine, waking a thread whose core has
   halted took hundreds of microseconds, longer than the next sample's work, so the waker
   reached the next exchange first and slept in turn, and 784-128-10 ran at a twentieth of
   one thread's speed until the run ended. Yielding keeps the core awake for the partner
   and gives it to any other thread that wants it; a partner descheduled for longer than
   FASTMLP_BARRIER_WAIT_NS costs no core at all: the barrier then sleeps on a condition
   variable, an exchange in naps of FASTMLP_NAP_NS. The clock is read every
   FASTMLP_BARRIER_POLLS polls. */
#define FASTMLP_BARRIER_SPIN_NS 50000LL
#define FASTMLP_BARRIER_WAIT_NS 10000000LL
#define FASTMLP_BARRIER_POLLS 64
#define FASTMLP_NAP_NS 100000L

typedef void (*fastmlp_job)(void* arg, int t);

static inline int fastmlp_have_threads(void) { return FASTMLP_HAVE_THREADS; }

#if FASTMLP_HAVE_THREADS

static inline void fastmlp_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* A central barrier for n threads. generation counts the rounds completed: the last to
   arrive resets arrived and publishes the next generation (release), which the others read
   (acquire), so that everything written before the barrier is seen after it. */
typedef struct {
    int n;
    int arrived;
    unsigned generation;
    int sleepers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} fastmlp_barrier;

static inline int fastmlp_barrier_init(fastmlp_barrier* b, int n) {
    b->n = n;
    b->arrived = 0;
    b->generation = 0;
    b->sleepers = 0;
    if (pthread_mutex_init(&b->lock, NULL))
        return -1;
    if (pthread_cond_init(&b->wake, NULL)) {
        pthread_mutex_destroy(&b->lock);
        return -1;
    }
    return 0;
}

static inline void fastmlp_barrier_destroy(fastmlp_barrier* b) {
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->lock);
}

static inline int fastmlp_barrier_passed(fastmlp_barrier* b, unsigned generation) {
    return __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != generation;
}

static inline long long fastmlp_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* Called after each FASTMLP_BARRIER_POLLS polls that found nothing, with *start = 0 at the
   wait's beginning: yields once FASTMLP_BARRIER_SPIN_NS have gone by, and returns 0 once
   FASTMLP_BARRIER_WAIT_NS have (1 before). */
static inline int fastmlp_keep_waiting(long long* start) {
    long long waited;
    if (*start == 0) {
        *start = fastmlp_now_ns();
        return 1;
    }
    waited = fastmlp_now_ns() - *start;
    if (waited > FASTMLP_BARRIER_WAIT_NS)
        return 0;
    if (waited > FASTMLP_BARRIER_SPIN_NS)
        sched_yield();
    return 1;
}

/* Polls, then yields between polls, until the barrier has passed generation or
   FASTMLP_BARRIER_WAIT_NS have gone by; returns whether it passed. */
static inline int fastmlp_barrier_spin(fastmlp_barrier* b, unsigned generation) {
    long long start = 0;
    int i;
    do {
        for (i = 0; i < FASTMLP_BARRIER_POLLS; i++) {
            if (fastmlp_barrier_passed(b, generation))
                return 1;
            fastmlp_pause();
        }
    } while (fastmlp_keep_waiting(&start));
    return 0;
}

/* An exchange without a central counter: a thread that has written its data for round k
   stores k in a word of its own (release); the others wait until that word holds k
   (acquire), and then read the data. A word and the data it announces can share a cache
   line, so that one line handed from core to core carries both, where a central barrier
   would hand two more (its counter and its generation). */
static inline void fastmlp_announce(long long* word, long long round) {
    __atomic_store_n(word, round, __ATOMIC_RELEASE);
}

/* Waits until *word holds round: polls, yields, then naps (see the budgets above). */
static inline void fastmlp_await(const long long* word, long long round) {
    long long start = 0;
    struct timespec nap = {0, FASTMLP_NAP_NS};
    int i;
    for (;;) {
        for (i = 0; i < FASTMLP_BARRIER_POLLS; i++) {
            if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == round)
                return;
            fastmlp_pause();
        }
        if (!fastmlp_keep_waiting(&start))
            nanosleep(&nap, NULL);
    }
}

static inline void fastmlp_barrier_wait(fastmlp_barrier* b) {
    unsigned generation = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == __atomic_load_n(&b->n, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->generation, generation + 1, __ATOMIC_SEQ_CST);
        /* A sleeper counted itself before it looked at the generation (both sequentially
           consistent): it either sees the new one or is woken here. */
        if (__atomic_load_n(&b->sleepers, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&b->lock);
            pthread_cond_broadcast(&b->wake);
            pthread_mutex_unlock(&b->lock);
        }
        return;
    }
    if (fastmlp_barrier_spin(b, generation))
        return;
    __atomic_add_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&b->lock);
    while (__atomic_load_n(&b->generation, __ATOMIC_SEQ_CST) == generation)
        pthread_cond_wait(&b->wake, &b->lock);
    pthread_mutex_unlock(&b->lock);
    __atomic_sub_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
}

typedef struct fastmlp_team fastmlp_team;

typedef struct {
    fastmlp_team* team;
    int t;
} fastmlp_seat;

struct fastmlp_team {
    int n;              /* threads, the caller's included */
    int quit;           /* written before the start barrier: the workers return */
    fastmlp_job job;    /* written before the start barrier */
    void* arg;
    fastmlp_barrier start, end;
    pthread_t threads[FASTMLP_MAX_THREADS];
    fastmlp_seat seats[FASTMLP_MAX_THREADS];
};

static void* fastmlp_team_worker(void* p) {
    fastmlp_seat* seat = (fastmlp_seat*)p;
    fastmlp_team* team = seat->team;
    for (;;) {
        fastmlp_barrier_wait(&team->start);
        if (team->quit)
            return NULL;
        team->job(team->arg, seat->t);
        fastmlp_barrier_wait(&team->end);
    }
}

/* Starts threads 1 .. n-1 (signals blocked in them: Python's handlers run on the caller).
   Returns the team's size: n, or 1 if the threads could not be started. */
static inline int fastmlp_team_open(fastmlp_team* team, int n) {
    sigset_t all, previous;
    int started;
    if (n > FASTMLP_MAX_THREADS)
        n = FASTMLP_MAX_THREADS;
    team->n = 1;
    team->quit = 0;
    team->job = NULL;
    team->arg = NULL;
    if (n <= 1)
        return 1;
    if (fastmlp_barrier_init(&team->start, n))
        return 1;
    if (fastmlp_barrier_init(&team->end, n)) {
        fastmlp_barrier_destroy(&team->start);
        return 1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    for (started = 1; started < n; started++) {
        team->seats[started].team = team;
        team->seats[started].t = started;
        if (pthread_create(&team->threads[started], NULL, fastmlp_team_worker, &team->seats[started]))
            break;
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (started < n) {
        /* Fewer threads than asked: the started ones, held at the start barrier, are let
           go (the barrier now waits for them and the caller only) and joined. */
        int i;
        __atomic_store_n(&team->start.n, started, __ATOMIC_SEQ_CST);
        team->quit = 1;
        fastmlp_barrier_wait(&team->start);
        for (i = 1; i < started; i++)
            pthread_join(team->threads[i], NULL);
        fastmlp_barrier_destroy(&team->start);
        fastmlp_barrier_destroy(&team->end);
        team->quit = 0;
        return 1;
    }
    team->n = n;
    return n;
}

/* job(arg, t) on every thread t = 0 .. n-1 of the team (0 on the caller); returns when all
   have finished. */
static inline void fastmlp_team_run(fastmlp_team* team, fastmlp_job job, void* arg) {
    if (team->n <= 1) {
        job(arg, 0);
        return;
    }
    team->job = job;
    team->arg = arg;
    fastmlp_barrier_wait(&team->start);
    job(arg, 0);
    fastmlp_barrier_wait(&team->end);
}

/* Lets the workers return and joins them. */
static inline void fastmlp_team_close(fastmlp_team* team) {
    int i;
    if (team->n <= 1)
        return;
    team->quit = 1;
    fastmlp_barrier_wait(&team->start);
    for (i = 1; i < team->n; i++)
        pthread_join(team->threads[i], NULL);
    fastmlp_barrier_destroy(&team->start);
    fastmlp_barrier_destroy(&team->end);
    team->n = 1;
}

#else  /* no POSIX threads: one thread, no barrier */

typedef struct { int n; } fastmlp_team;
static inline int fastmlp_team_open(fastmlp_team* team, int n) { (void)n; team->n = 1; return 1; }
static inline void fastmlp_team_run(fastmlp_team* team, fastmlp_job job, void* arg) {
    (void)team;
    job(arg, 0);
}
static inline void fastmlp_announce(long long* word, long long round) { *word = round; }
static inline void fastmlp_await(const long long* word, long long round) { (void)word; (void)round; }
static inline void fastmlp_team_close(fastmlp_team* team) { team->n = 1; }

#endif

#endif
