/* SPDX-License-Identifier: MIT */
/* Helpers of the C++ tests: a per-test ring name (pid + test name, removed
 * afterwards), forked children that run a function, and spawned programs
 * talked to through pipes. Children synchronise with the test on pipes,
 * never on sleeps. */
#ifndef ZINC_TESTS_CPP_UTIL_HPP
#define ZINC_TESTS_CPP_UTIL_HPP

#include <zinc/zinc.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ztest {

/* "zpp<pid>_<suite>_<test><suffix>", only [A-Za-z0-9_-]. */
inline std::string unique_name(const std::string &suffix = "")
{
    const ::testing::TestInfo *ti = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string n = "zpp" + std::to_string(getpid()) + "_" +
                    (ti ? std::string(ti->test_suite_name()) + "_" + ti->name() : "x") + suffix;
    for (char &ch : n) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            ch = '_';
    }
    return n.size() > 200 ? n.substr(0, 200) : n;
}

/* Skips the test when POSIX shared memory is unusable here. */
inline bool shm_usable(std::string *why)
{
    struct stat st;
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) {
        *why = "no /dev/shm on this machine";
        return false;
    }
    if (access("/dev/shm", W_OK) != 0) {
        *why = "/dev/shm is not writable by this user";
        return false;
    }
    return true;
}

/* Fixture: name() is this test's ring/region name; whatever is left under
 * it is removed at the end. */
class Named : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string why;
        if (!shm_usable(&why))
            GTEST_SKIP() << why;
        name_ = unique_name();
    }
    void TearDown() override
    {
        for (const std::string &n : names_)
            zinc_unlink(n.c_str());
        if (!name_.empty())
            zinc_unlink(name_.c_str());
    }
    const std::string &name() const { return name_; }
    /* A second name for tests that need more than one. */
    std::string other_name(const std::string &suffix)
    {
        names_.push_back(name_ + suffix);
        return names_.back();
    }

private:
    std::string name_;
    std::vector<std::string> names_;
};

/* A pipe both ends of which close on destruction. */
struct Pipe {
    int rd = -1, wr = -1;
    Pipe()
    {
        int fds[2];
        if (pipe(fds) == 0) {
            rd = fds[0];
            wr = fds[1];
        }
    }
    ~Pipe()
    {
        close_rd();
        close_wr();
    }
    Pipe(const Pipe &) = delete;
    Pipe &operator=(const Pipe &) = delete;
    void close_rd()
    {
        if (rd >= 0)
            close(rd);
        rd = -1;
    }
    void close_wr()
    {
        if (wr >= 0)
            close(wr);
        wr = -1;
    }
    bool send(char c = 'x') const { return write(wr, &c, 1) == 1; }
    /* One byte, or -1 at end of file (the other side is gone). */
    int recv() const
    {
        char c;
        ssize_t n;
        do
            n = read(rd, &c, 1);
        while (n < 0 && errno == EINTR);
        return n == 1 ? static_cast<unsigned char>(c) : -1;
    }
};

/* Exit status of a child: its exit code, or 128 + signal. */
inline int wait_status(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run fn in a forked child, which leaves with _exit(fn()) (no destructor
 * of the parent's objects runs there). Returns the child's pid. */
inline pid_t fork_run(const std::function<int()> &fn)
{
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = 1;
        try {
            rc = fn();
        } catch (const std::exception &e) {
            fprintf(stderr, "child: exception: %s\n", e.what());
            rc = 99;
        }
        fflush(nullptr);
        _exit(rc);
    }
    return pid;
}

/* A program started with its stdin and stdout on pipes (stderr inherited,
 * so it lands in the test log). Killed if still running at destruction. */
class Child {
public:
    Child(const std::vector<std::string> &argv, const std::vector<std::string> &env = {})
    {
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0)
            return;
        fflush(nullptr);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[0]);
            close(in[1]);
            close(out[0]);
            close(out[1]);
            for (const std::string &kv : env)
                putenv(const_cast<char *>(kv.c_str()));
            std::vector<char *> args;
            for (const std::string &a : argv)
                args.push_back(const_cast<char *>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        in_ = in[1];
        out_ = out[0];
    }
    ~Child()
    {
        close_stdin();
        if (out_ >= 0)
            close(out_);
        if (pid_ > 0 && status_ < 0) {
            kill(pid_, SIGKILL);
            wait_status(pid_);
        }
    }
    Child(const Child &) = delete;
    Child &operator=(const Child &) = delete;

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    /* One line of its stdout, without the newline; "" at end of file. */
    std::string line()
    {
        std::string s;
        char c;
        ssize_t n;
        while ((n = read(out_, &c, 1)) == 1 || (n < 0 && errno == EINTR)) {
            if (n == 1 && c == '\n')
                break;
            if (n == 1)
                s += c;
        }
        return s;
    }
    /* The rest of its stdout. */
    std::string rest()
    {
        std::string s;
        char buf[4096];
        ssize_t n;
        while ((n = read(out_, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                s.append(buf, static_cast<size_t>(n));
        return s;
    }
    void send(const std::string &text)
    {
        std::string t = text + "\n";
        ssize_t n = write(in_, t.data(), t.size());
        (void)n;
    }
    void close_stdin()
    {
        if (in_ >= 0)
            close(in_);
        in_ = -1;
    }
    /* Exit status (see wait_status). */
    int wait()
    {
        if (status_ < 0 && pid_ > 0)
            status_ = wait_status(pid_);
        return status_;
    }

private:
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    int status_ = -1;
};

/* The value of `"key":` in a one-line JSON object (numbers and strings
 * without escapes), or "" when absent. */
inline std::string json_field(const std::string &json, const std::string &key)
{
    std::string k = "\"" + key + "\":";
    size_t at = json.find(k);
    if (at == std::string::npos)
        return "";
    at += k.size();
    if (at < json.size() && json[at] == '"') {
        size_t end = json.find('"', at + 1);
        return json.substr(at + 1, end - at - 1);
    }
    size_t end = json.find_first_of(",}", at);
    return json.substr(at, end - at);
}

/* An environment variable, or "" if unset. */
inline std::string env(const char *key)
{
    const char *v = getenv(key);
    return v ? v : "";
}

} // namespace ztest

#endif /* ZINC_TESTS_CPP_UTIL_HPP */
