/* Program logging: one line per call on stderr, prefixed with the program name.
 * Trust level: callers must not pass secrets; messages from untrusted input are escaped. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_program = "qclaw";
static enum log_level log_level = LOG_LVL_INFO;

void log_init(const char *program)
{
        const char *slash = strrchr(program, '/');
        log_program = slash ? slash + 1 : program;
        const char *env = getenv("QCLAW_LOG_LEVEL");
        if (env && strcmp(env, "debug") == 0)
                log_level = LOG_LVL_DEBUG;
        else if (env && strcmp(env, "warn") == 0)
                log_level = LOG_LVL_WARN;
        else if (env && strcmp(env, "error") == 0)
                log_level = LOG_LVL_ERROR;
}

void log_set_level(enum log_level level)
{
        log_level = level;
}

enum log_level log_get_level(void)
{
        return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        if (level > log_level)
                return;
        char line[2048];
        int n = snprintf(line, sizeof(line), "%s: ", log_program);
        if (n < 0 || (size_t)n >= sizeof(line))
                return;
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                return;
        size_t len = strlen(line);
        /* Escape control characters so a log line stays one line on a terminal. */
        for (size_t i = (size_t)n; i < len; i++)
                if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
                        line[i] = '?';
        line[len++] = '\n';
        ssize_t _unused_ w = write(STDERR_FILENO, line, len);
}
