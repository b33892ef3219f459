// The OTLP messages a logs receiver decodes, as a protobufjs schema. The
// field numbers and types are those of opentelemetry-proto
// (opentelemetry/proto/{common,resource,logs}/v1, collector/logs/v1) and of
// google.rpc.Status. The OpenTelemetry JS packages 0.2xx no longer ship .proto
// files or generated code (their serializer is hand-written), so the test
// decodes with this independent schema; `otlp-proto.test.ts` checks it
// against the SDK's own protobuf and JSON serializers.
import protobuf from "protobufjs";

const COMMON = "opentelemetry.proto.common.v1";

const descriptor = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: {
              nested: {
                v1: {
                  nested: {
                    AnyValue: {
                      oneofs: {
                        value: {
                          oneof: [
                            "stringValue",
                            "boolValue",
                            "intValue",
                            "doubleValue",
                            "arrayValue",
                            "kvlistValue",
                            "bytesValue",
                          ],
                        },
                      },
                      fields: {
                        stringValue: { type: "string", id: 1 },
                        boolValue: { type: "bool", id: 2 },
                        intValue: { type: "int64", id: 3 },
                        doubleValue: { type: "double", id: 4 },
                        arrayValue: { type: "ArrayValue", id: 5 },
                        kvlistValue: { type: "KeyValueList", id: 6 },
                        bytesValue: { type: "bytes", id: 7 },
                      },
                    },
                    ArrayValue: {
                      fields: { values: { rule: "repeated", type: "AnyValue", id: 1 } },
                    },
                    KeyValueList: {
                      fields: { values: { rule: "repeated", type: "KeyValue", id: 1 } },
                    },
                    KeyValue: {
                      fields: {
                        key: { type: "string", id: 1 },
                        value: { type: "AnyValue", id: 2 },
                      },
                    },
                    InstrumentationScope: {
                      fields: {
                        name: { type: "string", id: 1 },
                        version: { type: "string", id: 2 },
                        attributes: { rule: "repeated", type: "KeyValue", id: 3 },
                        droppedAttributesCount: { type: "uint32", id: 4 },
                      },
                    },
                  },
                },
              },
            },
            resource: {
              nested: {
                v1: {
                  nested: {
                    Resource: {
                      fields: {
                        attributes: { rule: "repeated", type: `${COMMON}.KeyValue`, id: 1 },
                        droppedAttributesCount: { type: "uint32", id: 2 },
                      },
                    },
                  },
                },
              },
            },
            logs: {
              nested: {
                v1: {
                  nested: {
                    ResourceLogs: {
                      fields: {
                        resource: { type: "opentelemetry.proto.resource.v1.Resource", id: 1 },
                        scopeLogs: { rule: "repeated", type: "ScopeLogs", id: 2 },
                        schemaUrl: { type: "string", id: 3 },
                      },
                    },
                    ScopeLogs: {
                      fields: {
                        scope: { type: `${COMMON}.InstrumentationScope`, id: 1 },
                        logRecords: { rule: "repeated", type: "LogRecord", id: 2 },
                        schemaUrl: { type: "string", id: 3 },
                      },
                    },
                    LogRecord: {
                      fields: {
                        timeUnixNano: { type: "fixed64", id: 1 },
                        severityNumber: { type: "int32", id: 2 },
                        severityText: { type: "string", id: 3 },
                        body: { type: `${COMMON}.AnyValue`, id: 5 },
                        attributes: { rule: "repeated", type: `${COMMON}.KeyValue`, id: 6 },
                        droppedAttributesCount: { type: "uint32", id: 7 },
                        flags: { type: "fixed32", id: 8 },
                        traceId: { type: "bytes", id: 9 },
                        spanId: { type: "bytes", id: 10 },
                        observedTimeUnixNano: { type: "fixed64", id: 11 },
                        eventName: { type: "string", id: 12 },
                      },
                    },
                  },
                },
              },
            },
            collector: {
              nested: {
                logs: {
                  nested: {
                    v1: {
                      nested: {
                        ExportLogsServiceRequest: {
                          fields: {
                            resourceLogs: {
                              rule: "repeated",
                              type: "opentelemetry.proto.logs.v1.ResourceLogs",
                              id: 1,
                            },
                          },
                        },
                        ExportLogsServiceResponse: {
                          fields: { partialSuccess: { type: "ExportLogsPartialSuccess", id: 1 } },
                        },
                        ExportLogsPartialSuccess: {
                          fields: {
                            rejectedLogRecords: { type: "int64", id: 1 },
                            errorMessage: { type: "string", id: 2 },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);

export const ExportLogsServiceRequest = root.lookupType(
  "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
);
export const ExportLogsServiceResponse = root.lookupType(
  "opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse",
);
export const RpcStatus = root.lookupType("google.rpc.Status");
