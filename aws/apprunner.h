/*
 * apprunner: the App Runner API calls cfdr makes, on the shared transport (awsJson1.0,
 * X-Amz-Target AppRunner.<Operation>, API 2020-05-15). App Runner is regional: every call names
 * the region its service lives in.
 *
 *   ListServices     apprunner_list_services (every page), apprunner_find_service (by name)
 *   DescribeService  apprunner_describe_service
 *   PauseService     apprunner_pause_service
 *   ResumeService    apprunner_resume_service
 *   CreateService    apprunner_create_service (a public ECR image: the sample by default)
 *   DeleteService    apprunner_delete_service
 *   ListOperations   apprunner_list_operations (every page)
 *
 * Create, pause, resume and delete are asynchronous: they answer with the service in
 * OPERATION_IN_PROGRESS and the id of the operation started; poll apprunner_describe_service
 * until the status settles (RUNNING, PAUSED; a deleted service is described once as DELETED,
 * then ResourceNotFoundException).
 *
 * CreateService is not idempotent: when an attempt's answer is lost (a network error, a retried
 * 5xx), the next one may meet "Service with the provided name already exists"
 * (APPRUNNER_ERR_INVALID_REQUEST) although the first one worked; apprunner_find_service tells.
 *
 * Errors: every call returns the transport's code (CFDR_E_AWS with AWS's answer, CFDR_E_NET,
 * ...) or CFDR_E_PARSE for an answer that is not the model's shape. When aerr is not NULL it is
 * cleared on entry and, on CFDR_E_AWS or CFDR_E_NET, receives the transport's struct aws_error,
 * so callers can tell the APPRUNNER_ERR_* codes apart.
 *
 * Timestamps are UNIX seconds with fractions, as awsJson carries them (0 when absent).
 *
 * Dry-run: when the transport sends nothing, every call returns CFDR_OK with an empty result
 * (lists stop after the first request; apprunner_find_service then finds nothing:
 * CFDR_E_NOTFOUND).
 *
 * Ownership: inputs are borrowed for the call. struct apprunner_service and struct
 * apprunner_operation hold no heap memory; the lists own their arrays, released by the matching
 * _free (NULL accepted; the list is left empty and reusable). Results are overwritten on entry
 * (pass a zeroed or _free'd list); on failure they own nothing.
 */
#ifndef CFDR_APPRUNNER_H
#define CFDR_APPRUNNER_H

#include <stddef.h>

#include "aws/err.h"
#include "aws/transport.h"

/* The public sample image services are created from by default, and the port it serves on. */
#define APPRUNNER_SAMPLE_IMAGE "public.ecr.aws/aws-containers/hello-app-runner:latest"
#define APPRUNNER_SAMPLE_PORT "8000"

/* AWS error codes callers act on (struct aws_error.code). */
#define APPRUNNER_ERR_RESOURCE_NOT_FOUND "ResourceNotFoundException"
#define APPRUNNER_ERR_INVALID_STATE "InvalidStateException"
#define APPRUNNER_ERR_INVALID_REQUEST "InvalidRequestException"

#define APPRUNNER_PAGE_MAX 20        /* MaxResults App Runner accepts */
#define APPRUNNER_LIST_MAX_PAGES 500 /* list walks give up beyond this many pages */
#define APPRUNNER_MAX_TAGS 50

/* Field sizes (bytes, NUL included). A longer value in an answer is CFDR_E_PARSE, never cut. */
#define APPRUNNER_NAME_SIZE 64  /* ServiceName is 4-40 characters */
#define APPRUNNER_ID_SIZE 64    /* ServiceId (32 hex), operation ids (UUIDs) */
#define APPRUNNER_ARN_SIZE 1024 /* ARNs are at most 1011 characters */
#define APPRUNNER_URL_SIZE 256  /* ServiceUrl: a host name */
#define APPRUNNER_WORD_SIZE 32  /* enum values */

/* A service, as ListServices summarises it or DescribeService and the mutating calls return it. */
struct apprunner_service {
    char name[APPRUNNER_NAME_SIZE];
    char id[APPRUNNER_ID_SIZE];
    char arn[APPRUNNER_ARN_SIZE];
    char url[APPRUNNER_URL_SIZE];     /* host name, without scheme */
    char status[APPRUNNER_WORD_SIZE]; /* RUNNING, PAUSED, OPERATION_IN_PROGRESS, DELETED, ... */
    double created_at;
    double updated_at;
    /* create, pause, resume, delete: the operation they started; "" otherwise */
    char operation_id[APPRUNNER_ID_SIZE];
};

struct apprunner_service_list {
    struct apprunner_service *items; /* n, owned */
    size_t n;
};

struct apprunner_operation {
    char id[APPRUNNER_ID_SIZE];
    char type[APPRUNNER_WORD_SIZE];   /* CREATE_SERVICE, PAUSE_SERVICE, ... */
    char status[APPRUNNER_WORD_SIZE]; /* IN_PROGRESS, SUCCEEDED, FAILED, ... */
    char target_arn[APPRUNNER_ARN_SIZE];
    double started_at;
    double ended_at; /* 0 while it runs */
    double updated_at;
};

struct apprunner_operation_list {
    struct apprunner_operation *items; /* n, newest first as AWS lists them; owned */
    size_t n;
};

struct apprunner_tag {
    const char *key;
    const char *value;
};

/* CreateService from a public ECR image (ImageRepositoryType ECR_PUBLIC, which needs no access
 * role and allows no automatic deployments). */
struct apprunner_create_spec {
    const char *name;  /* 4-40 characters: letters, digits, '-', '_' */
    const char *image; /* NULL: APPRUNNER_SAMPLE_IMAGE; must be a public.ecr.aws image */
    const char *port;  /* NULL: APPRUNNER_SAMPLE_PORT */
    const struct apprunner_tag *tags; /* NULL when none */
    size_t ntags;
};

void apprunner_service_list_free(struct apprunner_service_list *l);
void apprunner_operation_list_free(struct apprunner_operation_list *l);

/* Every service of the region, page_size (0: APPRUNNER_PAGE_MAX) per request, at most
 * APPRUNNER_LIST_MAX_PAGES pages (CFDR_E_TOOBIG beyond); a NextToken that repeats is
 * CFDR_E_PARSE. Deleted services are not listed. */
cfdr_code apprunner_list_services(struct transport *t, const char *region, int page_size,
                                  struct apprunner_service_list *out, struct aws_error *aerr,
                                  cfdr_err *err);

/* The service named `name` in the region (walks ListServices). CFDR_E_NOTFOUND, with a message
 * naming the service and region, when there is none. */
cfdr_code apprunner_find_service(struct transport *t, const char *region, const char *name,
                                 struct apprunner_service *out, struct aws_error *aerr,
                                 cfdr_err *err);

cfdr_code apprunner_describe_service(struct transport *t, const char *region, const char *arn,
                                     struct apprunner_service *out, struct aws_error *aerr,
                                     cfdr_err *err);

/* Start the operation; out is the service as it answered (OPERATION_IN_PROGRESS) with the
 * operation id. Pausing a service that is not RUNNING, resuming one that is not PAUSED, or
 * deleting one with an operation in progress is APPRUNNER_ERR_INVALID_STATE. */
cfdr_code apprunner_pause_service(struct transport *t, const char *region, const char *arn,
                                  struct apprunner_service *out, struct aws_error *aerr,
                                  cfdr_err *err);
cfdr_code apprunner_resume_service(struct transport *t, const char *region, const char *arn,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err);
cfdr_code apprunner_delete_service(struct transport *t, const char *region, const char *arn,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err);
cfdr_code apprunner_create_service(struct transport *t, const char *region,
                                   const struct apprunner_create_spec *spec,
                                   struct apprunner_service *out, struct aws_error *aerr,
                                   cfdr_err *err);

/* Every operation on the service (newest first), at most APPRUNNER_LIST_MAX_PAGES pages. */
cfdr_code apprunner_list_operations(struct transport *t, const char *region, const char *arn,
                                    struct apprunner_operation_list *out, struct aws_error *aerr,
                                    cfdr_err *err);

#endif
