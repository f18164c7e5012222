{
  "targets": [
    {
      "target_name": "cronium_netns",
      "sources": ["native/netns.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"]
    }
  ]
}
