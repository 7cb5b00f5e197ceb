/* daemon: see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws/buf.h"

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The last few hundred bytes of a log, for error messages. */
static void log_tail(const char *path, char *out, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t size;
    ssize_t got;
    out[0] = '\0';
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > (off_t)(n - 1))
        lseek(fd, size - (off_t)(n - 1), SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    got = read(fd, out, n - 1);
    out[got > 0 ? got : 0] = '\0';
    close(fd);
    for (char *p = out; *p; p++)
        if (*p == '\n' && p[1])
            *p = ' ';
}

cfdr_code daemon_identify(pid_t pid, struct daemon_id *out, cfdr_err *err)
{
    char path[64], text[1024], state;
    const char *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, CFDR_E_NOTFOUND, "no process %ld", (long)pid);
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return err_set(err, CFDR_E_NOTFOUND, "no process %ld", (long)pid);
    text[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: fields resume after the last
     * ')'. Then: state (3), and start time is field 22, i.e. the 20th after the state. */
    p = strrchr(text, ')');
    if (!p || sscanf(p + 1, " %c", &state) != 1)
        return err_set(err, CFDR_E_IO, "cannot read %s", path);
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p || sscanf(p, "%llu", &start) != 1)
        return err_set(err, CFDR_E_IO, "cannot read the start time in %s", path);
    if (state == 'Z' || state == 'X')
        return err_set(err, CFDR_E_NOTFOUND, "process %ld has exited", (long)pid);
    out->pid = pid;
    out->start_time = start;
    return CFDR_OK;
}

/* 1: the command line is cfdr with that word; 0: it is something else; -1: it is empty, as it
 * is for a process that is exiting (its memory is gone before it becomes a zombie). */
static int cmdline_has(pid_t pid, const char *word)
{
    char path[64], text[4096];
    ssize_t n;
    int fd, has_cfdr = 0, has_word = 0;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    for (const char *a = text; a < text + n; a += strlen(a) + 1) {
        const char *base = strrchr(a, '/') ? strrchr(a, '/') + 1 : a;
        if (a == text && strncmp(base, "cfdr", 4) == 0)
            has_cfdr = 1;
        if (strcmp(a, word) == 0)
            has_word = 1;
    }
    return has_cfdr && has_word;
}

enum daemon_state daemon_check(const struct daemon_id *id, const char *role)
{
    struct daemon_id now;
    int has;
    if (id->pid <= 1 || daemon_identify(id->pid, &now, NULL) != CFDR_OK)
        return DAEMON_GONE;
    if (now.start_time != id->start_time)
        return DAEMON_STRANGER;
    /* Same PID and start time: the same process. An empty command line means it is exiting. */
    has = cmdline_has(id->pid, role);
    if (has < 0)
        return DAEMON_GONE;
    return has ? DAEMON_OURS : DAEMON_STRANGER;
}

cfdr_code daemon_stop(const struct daemon_id *id, const char *role, long grace_ms,
                      enum daemon_state *was, cfdr_err *err)
{
    enum daemon_state st = daemon_check(id, role);
    long deadline;
    if (was)
        *was = st;
    if (st != DAEMON_OURS)
        return CFDR_OK;
    if (kill(id->pid, SIGTERM) != 0 && errno != ESRCH)
        return err_set(err, CFDR_E_IO, "cannot stop process %ld: %s", (long)id->pid,
                       strerror(errno));
    /* Our own children must be reaped to disappear; others are reaped by init. */
    deadline = mono_ms() + grace_ms;
    while (mono_ms() < deadline) {
        waitpid(id->pid, NULL, WNOHANG);
        if (daemon_check(id, role) != DAEMON_OURS)
            return CFDR_OK;
        sleep_ms(20);
    }
    if (kill(id->pid, SIGKILL) != 0 && errno != ESRCH)
        return err_set(err, CFDR_E_IO, "cannot kill process %ld: %s", (long)id->pid,
                       strerror(errno));
    deadline = mono_ms() + 2000;
    while (mono_ms() < deadline) {
        waitpid(id->pid, NULL, WNOHANG);
        if (daemon_check(id, role) != DAEMON_OURS)
            return CFDR_OK;
        sleep_ms(20);
    }
    return err_set(err, CFDR_E_IO, "process %ld (%s) did not exit after SIGKILL", (long)id->pid,
                   role);
}

cfdr_code daemon_announce_ready(const char *line, cfdr_err *err)
{
    const char *v = getenv(DAEMON_READY_ENV);
    char *end;
    long fd;
    size_t len = strlen(line);
    if (!v || !*v)
        return CFDR_OK;
    fd = strtol(v, &end, 10);
    if (*end || fd < 0 || fd > 65535)
        return err_set(err, CFDR_E_USAGE, "%s=%s is not a file descriptor", DAEMON_READY_ENV, v);
    if (write((int)fd, line, len) != (ssize_t)len || write((int)fd, "\n", 1) != 1) {
        int e = errno;
        close((int)fd);
        return err_set(err, CFDR_E_IO, "cannot announce readiness: %s", strerror(e));
    }
    close((int)fd);
    unsetenv(DAEMON_READY_ENV);
    return CFDR_OK;
}

cfdr_code daemon_spawn(const char *exe, const char *const *argv, const char *log_path,
                       long timeout_ms, struct daemon_id *id, char **ready, cfdr_err *err)
{
    char self[4096], tail[400];
    ssize_t n;
    int pfd[2], logfd;
    pid_t pid;
    struct buf line;
    long deadline;
    cfdr_code rc = CFDR_OK;
    size_t argc = 0;
    const char **av;

    *ready = NULL;
    if (exe) {
        snprintf(self, sizeof(self), "%s", exe);
    } else {
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            return err_set(err, CFDR_E_IO, "cannot find the cfdr executable: %s", strerror(errno));
        self[n] = '\0';
    }
    while (argv[argc])
        argc++;
    logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return err_set(err, CFDR_E_IO, "cannot open the log %s: %s", log_path, strerror(errno));
    if (pipe(pfd) != 0) {
        close(logfd);
        return err_set(err, CFDR_E_IO, "cannot create a pipe: %s", strerror(errno));
    }
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC); /* cannot fail on a descriptor just made */
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    av = calloc(argc + 2, sizeof(*av));
    if (!av) {
        close(pfd[0]);
        close(pfd[1]);
        close(logfd);
        return err_set(err, CFDR_E_NOMEM, "out of memory");
    }
    av[0] = self;
    for (size_t i = 0; i < argc; i++)
        av[i + 1] = argv[i];
    pid = fork();
    if (pid < 0) {
        rc = err_set(err, CFDR_E_IO, "cannot fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        close(logfd);
        free(av);
        return rc;
    }
    if (pid == 0) {
        /* Child. cfdr spawns from its single main thread, so setenv is safe here. */
        char fdnum[16];
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0)
            _exit(127);
        setsid();
        dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* The write end survives exec; the read end does not (O_CLOEXEC). */
        fcntl(pfd[1], F_SETFD, 0);
        snprintf(fdnum, sizeof(fdnum), "%d", pfd[1]);
        setenv(DAEMON_READY_ENV, fdnum, 1);
        signal(SIGPIPE, SIG_DFL);
        execv(self, (char *const *)av);
        _exit(127);
    }
    free(av);
    close(pfd[1]);
    close(logfd);
    buf_init(&line, 4096);
    deadline = mono_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        long left = deadline - mono_ms();
        char c;
        int pr;
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            log_tail(log_path, tail, sizeof(tail));
            rc = err_set(err, CFDR_E_IO,
                         "%s did not start within %ld ms (killed it); its log %s "
                         "ends: %s",
                         argv[0], timeout_ms, log_path, tail[0] ? tail : "(empty)");
            break;
        }
        pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        n = read(pfd[0], &c, 1);
        if (n == 1 && c != '\n') {
            if (buf_addc(&line, c) == CFDR_OK)
                continue;
        }
        if (n == 1 && c == '\n') {
            *ready = buf_detach(&line, NULL);
            rc = daemon_identify(pid, id, err);
            if (rc) {
                free(*ready);
                *ready = NULL;
            }
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* EOF before a ready line: the child failed. */
        waitpid(pid, NULL, 0);
        log_tail(log_path, tail, sizeof(tail));
        rc = err_set(err, CFDR_E_IO, "%s exited before it was ready; its log %s ends: %s", argv[0],
                     log_path, tail[0] ? tail : "(empty)");
        break;
    }
    close(pfd[0]);
    buf_free(&line);
    return rc;
}
