/*
 * flip_origin: a test origin on loopback whose answers a test flips at will — 200 with
 * x-region us-east-1 (the primary) or us-west-2 (the secondary, as if an edge had failed over),
 * or 503. It runs its own libevent loop on a thread; the test process must have called
 * evthread_use_pthreads() so that origin_stop() can wake that loop.
 */
#ifndef CFDR_TEST_FLIP_ORIGIN_H
#define CFDR_TEST_FLIP_ORIGIN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

/* A one-thread origin: answers 200 with x-region from `region`, or 503 when `failing`. */
struct origin {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    int port;
    atomic_int secondary; /* 0: us-east-1, 1: us-west-2 */
    atomic_int failing;
    atomic_int hits; /* requests answered */
};

static inline void handle(struct evhttp_request *req, void *arg)
{
    struct origin *o = arg;
    struct evbuffer *b = evbuffer_new();
    atomic_fetch_add(&o->hits, 1);
    evbuffer_add_printf(b, "ok\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "x-region",
                      atomic_load(&o->secondary) ? "us-west-2" : "us-east-1");
    evhttp_send_reply(req, atomic_load(&o->failing) ? 503 : 200, "OK", b);
    evbuffer_free(b);
}

static inline void *origin_run(void *arg)
{
    struct origin *o = arg;
    event_base_dispatch(o->base);
    return NULL;
}

static inline void origin_start(struct origin *o)
{
    struct evhttp_bound_socket *s;
    memset(o, 0, sizeof(*o));
    o->base = event_base_new();
    o->http = evhttp_new(o->base);
    evhttp_set_gencb(o->http, handle, o);
    s = evhttp_bind_socket_with_handle(o->http, "127.0.0.1", 0);
    assert_non_null(s);
    {
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &len);
        o->port = ntohs(sa.sin_port);
    }
    assert_int_equal(pthread_create(&o->thread, NULL, origin_run, o), 0);
}

static inline void origin_stop(struct origin *o)
{
    event_base_loopbreak(o->base);
    pthread_join(o->thread, NULL);
    evhttp_free(o->http);
    event_base_free(o->base);
}

#endif
