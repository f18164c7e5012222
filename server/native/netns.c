// cronium_netns: creates a runc sandbox's network in-process, over rtnetlink, instead of with two `ip` processes.
//
// Why native code: a process start costs ~10-15 ms of CPU on the 2-core VMs this project is measured on, and
// the `ip` route took two per sandbox (its namespace and veth from the host side, its address and links from
// inside, which `ip` can only do from a process that entered the namespace). Node cannot enter a network
// namespace or speak netlink, so this addon does it on a libuv pool thread: network namespaces are per thread,
// so the thread unshares into a fresh one, opens the sockets it needs there, and returns to the host's.
//
// The namespace is not bind-mounted anywhere: the server holds it open by a descriptor, and the OCI runtime
// joins it through /proc/<server pid>/fd/<fd>. Closing the descriptor (or the server dying) leaves the
// namespace to the sandbox alone; when the sandbox ends the kernel frees it and with it both ends of the veth
// pair, so nothing can leak on the host and deletion needs no process either.
#define _GNU_SOURCE
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG_MAX 1024
typedef struct {
  char buf[MSG_MAX];
} __attribute__((aligned(8))) nlmsg_t;

static struct nlmsghdr *msg_init(nlmsg_t *m, unsigned short type, unsigned short flags, size_t header) {
  memset(m, 0, sizeof *m);
  struct nlmsghdr *n = (struct nlmsghdr *)m->buf;
  n->nlmsg_len = NLMSG_LENGTH(header);
  n->nlmsg_type = type;
  n->nlmsg_flags = flags;
  return n;
}

static int add_attr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len) {
  size_t alen = RTA_LENGTH(len);
  if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(alen) > MSG_MAX) return -EMSGSIZE;
  struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = alen;
  if (len) memcpy(RTA_DATA(rta), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(alen);
  return 0;
}

static struct rtattr *nest_start(struct nlmsghdr *n, unsigned short type) {
  struct rtattr *nest = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  return add_attr(n, type, NULL, 0) ? NULL : nest;
}

static void nest_end(struct nlmsghdr *n, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((char *)n + NLMSG_ALIGN(n->nlmsg_len) - (char *)nest);
}

static int nl_open(void) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  return s < 0 ? -errno : s;
}

/** Sends one request and waits for its acknowledgement: 0, or a negative errno. */
static int nl_talk(int s, struct nlmsghdr *n, uint32_t seq) {
  n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  n->nlmsg_seq = seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(s, n, n->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t len = recv(s, buf, sizeof buf, 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
  }
}

static struct nlmsghdr *set_link_up(nlmsg_t *m, int index) {
  struct nlmsghdr *n = msg_init(m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(n);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return n;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  void (*run)(void *job);
  char veth[IF_NAMESIZE];
  char bridge[IF_NAMESIZE];
  uint32_t addr; /* network byte order */
  int prefix;
  int fd;
  int err; /* negative errno */
  const char *step;
} job_t;

#define FAIL(what, e) \
  do {                \
    job->step = what; \
    job->err = (e);   \
    goto out;         \
  } while (0)

static void create_net(void *arg) {
  job_t *job = arg;
  int host_ns = -1, ns = -1, host_nl = -1, ns_nl = -1, ns_inet = -1, r;
  nlmsg_t m;

  host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) FAIL("open /proc/thread-self/ns/net", -errno);
  unsigned master = if_nametoindex(job->bridge);
  if (!master) FAIL("find the bridge", -errno);
  if ((host_nl = nl_open()) < 0) FAIL("open a netlink socket", host_nl);

  // Into a fresh namespace (this thread only): keep it, and sockets bound to it, then back to the host's.
  if (unshare(CLONE_NEWNET) != 0) FAIL("unshare a network namespace", -errno);
  ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int open_err = ns < 0 ? -errno : 0;
  if (!open_err && (ns_nl = nl_open()) < 0) open_err = ns_nl;
  if (!open_err && (ns_inet = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) open_err = -errno;
  // A pool thread left in the sandbox's namespace would serve later DNS lookups from there: never return.
  if (setns(host_ns, CLONE_NEWNET) != 0) abort();
  if (open_err) FAIL("open the namespace's sockets", open_err);

  // The veth pair: host end a port of the sandbox bridge, up; the peer eth0 straight into the namespace.
  struct nlmsghdr *n = msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
  struct ifinfomsg *ifi = NLMSG_DATA(n);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  uint32_t nsfd = (uint32_t)ns;
  struct rtattr *info, *data, *peer;
  if (add_attr(n, IFLA_IFNAME, job->veth, strlen(job->veth) + 1) || add_attr(n, IFLA_MASTER, &master, sizeof master) ||
      !(info = nest_start(n, IFLA_LINKINFO)) || add_attr(n, IFLA_INFO_KIND, "veth", 5) || !(data = nest_start(n, IFLA_INFO_DATA)) ||
      !(peer = nest_start(n, VETH_INFO_PEER)))
    FAIL("build the veth request", -EMSGSIZE);
  struct ifinfomsg *peer_ifi = (struct ifinfomsg *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLMSG_ALIGN(sizeof(struct ifinfomsg));
  peer_ifi->ifi_family = AF_UNSPEC; /* not up yet: a veth cannot open before its pair is complete (ENOTCONN) */
  if (add_attr(n, IFLA_IFNAME, "eth0", 5) || add_attr(n, IFLA_NET_NS_FD, &nsfd, sizeof nsfd)) FAIL("build the veth request", -EMSGSIZE);
  nest_end(n, peer);
  nest_end(n, data);
  nest_end(n, info);
  if ((r = nl_talk(host_nl, n, 1)) != 0) FAIL("create the veth pair", r);

  // Inside: eth0's address (its subnet route comes with it; no default route), eth0 and loopback up.
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "eth0");
  if (ioctl(ns_inet, SIOCGIFINDEX, &ifr) != 0) FAIL("find eth0 in the namespace", -errno);
  n = msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
  struct ifaddrmsg *ifa = NLMSG_DATA(n);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)job->prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (unsigned)ifr.ifr_ifindex;
  if (add_attr(n, IFA_LOCAL, &job->addr, 4) || add_attr(n, IFA_ADDRESS, &job->addr, 4)) FAIL("build the address request", -EMSGSIZE);
  if ((r = nl_talk(ns_nl, n, 2)) != 0) FAIL("add the sandbox's address", r);
  n = set_link_up(&m, ifr.ifr_ifindex);
  if ((r = nl_talk(ns_nl, n, 3)) != 0) FAIL("set eth0 up", r);
  n = set_link_up(&m, 1); /* loopback is always index 1 */
  if ((r = nl_talk(ns_nl, n, 4)) != 0) FAIL("set loopback up", r);

  job->fd = ns;
  ns = -1;
out:
  // A namespace that is closed here is freed by the kernel with the veth pair, if that was made.
  if (ns >= 0) close(ns);
  if (ns_inet >= 0) close(ns_inet);
  if (ns_nl >= 0) close(ns_nl);
  if (host_nl >= 0) close(host_nl);
  if (host_ns >= 0) close(host_ns);
}

/** Deletes a veth pair by its host end, at once (not when the kernel gets to freeing its namespace), so that its
 * address can go to the next sandbox without a moment of two interfaces answering for it. Gone already: fine. */
static void remove_veth(void *arg) {
  job_t *job = arg;
  int nl = nl_open(), r;
  nlmsg_t m;
  if (nl < 0) FAIL("open a netlink socket", nl);
  struct nlmsghdr *n = msg_init(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
  ((struct ifinfomsg *)NLMSG_DATA(n))->ifi_family = AF_UNSPEC;
  if (add_attr(n, IFLA_IFNAME, job->veth, strlen(job->veth) + 1)) FAIL("build the delete request", -EMSGSIZE);
  if ((r = nl_talk(nl, n, 1)) != 0 && r != -ENODEV) FAIL("delete the veth pair", r);
out:
  if (nl >= 0) close(nl);
}

static void execute(napi_env env, void *data) {
  (void)env;
  ((job_t *)data)->run(data);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_value v;
  if (status == napi_ok && job->err == 0) {
    if (job->run == create_net) napi_create_int32(env, job->fd, &v);
    else napi_get_undefined(env, &v);
    napi_resolve_deferred(env, job->deferred, v);
  } else {
    char text[256];
    snprintf(text, sizeof text, "%s: %s", job->step ? job->step : "cancelled", strerror(job->err ? -job->err : ECANCELED));
    napi_value msg, code;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &v);
    napi_create_int32(env, job->err ? -job->err : ECANCELED, &code);
    napi_set_named_property(env, v, "errno", code);
    napi_reject_deferred(env, job->deferred, v);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/** An interface name: 1 to IF_NAMESIZE - 1 bytes (a longer one is read truncated to IF_NAMESIZE and refused). */
static bool get_name(napi_env env, napi_value v, char *out) {
  char buf[IF_NAMESIZE + 1];
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) return false;
  memcpy(out, buf, len + 1);
  return true;
}

static napi_value queue(napi_env env, job_t *job, const char *what) {
  napi_value name, promise;
  job->fd = -1;
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &name);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

/** create(veth: string, bridge: string, address: string, prefix: number): Promise<number> (the namespace's fd) */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  job_t *job = calloc(1, sizeof *job);
  char addr[INET_ADDRSTRLEN + 1];
  size_t alen;
  int32_t prefix;
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (argc < 4 || !get_name(env, argv[0], job->veth) || !get_name(env, argv[1], job->bridge) ||
      napi_get_value_string_utf8(env, argv[2], addr, sizeof addr, &alen) != napi_ok || inet_pton(AF_INET, addr, &job->addr) != 1 ||
      napi_get_value_int32(env, argv[3], &prefix) != napi_ok || prefix < 1 || prefix > 32) {
    free(job);
    napi_throw_type_error(env, NULL, "create(veth, bridge, ipv4Address, prefix): an argument is missing or invalid");
    return NULL;
  }
  job->prefix = prefix;
  job->run = create_net;
  return queue(env, job, "cronium_netns.create");
}

/** remove(veth: string): Promise<void> */
static napi_value remove_(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  job_t *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (argc < 1 || !get_name(env, argv[0], job->veth)) {
    free(job);
    napi_throw_type_error(env, NULL, "remove(veth): the interface name is missing or invalid");
    return NULL;
  }
  job->run = remove_veth;
  return queue(env, job, "cronium_netns.remove");
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn);
  napi_set_named_property(env, exports, "create", fn);
  napi_create_function(env, "remove", NAPI_AUTO_LENGTH, remove_, NULL, &fn);
  napi_set_named_property(env, exports, "remove", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
