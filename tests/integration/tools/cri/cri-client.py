#!/usr/bin/python3
"""A small CRI client for husk's tests (Debian has no crictl).

Usage: cri-client.py SOCKET VERB ARGS...
       cri-client.py --serve FIFO-DIR

  version                          runtime name, version, API version
  runp POD.json [HANDLER]          RunPodSandbox; prints the sandbox id
  podstatus POD-ID                 prints the sandbox state (READY, NOTREADY)
  create POD-ID CTR.json POD.json  CreateContainer; prints the container id
  start ID                         StartContainer
  status ID                        prints "STATE exit=N reason=R" and the log path
  exec ID TIMEOUT CMD...           ExecSync: the command's stdout and stderr
                                   on ours, its exit code as ours
  stop ID TIMEOUT                  StopContainer
  rm ID                            RemoveContainer
  stopp POD-ID                     StopPodSandbox
  rmp POD-ID                       RemovePodSandbox

The configs are the CRI messages in protobuf's JSON mapping (crictl's
files, less the fields cri.proto leaves out). The messages come from
cri.proto beside this file, compiled at run time by grpc_tools.protoc into
$CRI_GEN (a temp dir by default). A gRPC error prints its code and details
and exits 1.

--serve answers requests, one at a time, from the FIFO FIFO-DIR/req: each
SOCKET VERB ARGS..., every one ended by a NUL. The command's output goes to
the files FIFO-DIR/out and err, then its exit status, a line, to the FIFO
FIFO-DIR/resp. A test pays for Python and gRPC's start once, not at every
call (a second or more each on a loaded machine).
"""

import io
import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "/runtime.v1.RuntimeService/"


def load_pb2():
    gen = os.environ.get("CRI_GEN") or tempfile.mkdtemp(prefix="cri-gen.")
    if not os.path.exists(os.path.join(gen, "cri_pb2.py")):
        os.makedirs(gen, exist_ok=True)
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", HERE,
                        "--python_out=" + gen, os.path.join(HERE, "cri.proto")],
                       check=True)
    sys.path.insert(0, gen)
    import cri_pb2  # noqa: E402
    return cri_pb2


pb = load_pb2()


def call(channel, method, request, response_type, timeout=120):
    stub = channel.unary_unary(SERVICE + method,
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)
    return stub(request, timeout=timeout)


def from_json(path, message_type):
    with open(path) as f:
        return json_format.ParseDict(json.load(f), message_type())


def channel_for(sock, channels={}):
    if sock not in channels:
        channels[sock] = grpc.insecure_channel("unix://" + sock)
    return channels[sock]


def run(argv, out, err):
    """One command (argv as main's, less the program name) writing to the
    binary streams out and err; its exit status."""
    def say(s):
        out.write((s + "\n").encode())

    try:
        return verb_run(argv, say, out, err)
    except grpc.RpcError as e:
        err.write(("cri-client: %s: %s\n" % (e.code().name, e.details())).encode())
        return 1


def verb_run(argv, say, out, err):
    if len(argv) < 2:
        err.write(__doc__.encode())
        return 2
    sock, verb, args = argv[0], argv[1], argv[2:]
    channel = channel_for(sock)
    if verb == "version":
        r = call(channel, "Version", pb.VersionRequest(version="v1"), pb.VersionResponse)
        say("%s %s %s" % (r.runtime_name, r.runtime_version, r.runtime_api_version))
    elif verb == "runp":
        req = pb.RunPodSandboxRequest(config=from_json(args[0], pb.PodSandboxConfig),
                                      runtime_handler=args[1] if len(args) > 1 else "")
        say(call(channel, "RunPodSandbox", req, pb.RunPodSandboxResponse).pod_sandbox_id)
    elif verb == "podstatus":
        r = call(channel, "PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=args[0]),
                 pb.PodSandboxStatusResponse)
        say(pb.PodSandboxState.Name(r.status.state).replace("SANDBOX_", ""))
    elif verb == "create":
        req = pb.CreateContainerRequest(pod_sandbox_id=args[0],
                                        config=from_json(args[1], pb.ContainerConfig),
                                        sandbox_config=from_json(args[2], pb.PodSandboxConfig))
        say(call(channel, "CreateContainer", req, pb.CreateContainerResponse).container_id)
    elif verb == "start":
        call(channel, "StartContainer", pb.StartContainerRequest(container_id=args[0]),
             pb.StartContainerResponse)
    elif verb == "status":
        s = call(channel, "ContainerStatus", pb.ContainerStatusRequest(container_id=args[0]),
                 pb.ContainerStatusResponse).status
        say("%s exit=%d reason=%s\n%s" % (pb.ContainerState.Name(s.state).replace("CONTAINER_", ""),
                                           s.exit_code, s.reason, s.log_path))
    elif verb == "exec":
        timeout = int(args[1])
        req = pb.ExecSyncRequest(container_id=args[0], cmd=args[2:], timeout=timeout)
        r = call(channel, "ExecSync", req, pb.ExecSyncResponse, timeout=timeout + 30)
        out.write(r.stdout)
        err.write(r.stderr)
        return r.exit_code
    elif verb == "stop":
        call(channel, "StopContainer",
             pb.StopContainerRequest(container_id=args[0], timeout=int(args[1])),
             pb.StopContainerResponse)
    elif verb == "rm":
        call(channel, "RemoveContainer", pb.RemoveContainerRequest(container_id=args[0]),
             pb.RemoveContainerResponse)
    elif verb == "stopp":
        call(channel, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=args[0]),
             pb.StopPodSandboxResponse)
    elif verb == "rmp":
        call(channel, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]),
             pb.RemovePodSandboxResponse)
    else:
        err.write(("cri-client: unknown verb %s\n" % verb).encode())
        return 2
    return 0


def serve(fifo_dir):
    """Each request written to FIFO-DIR/req (run's argv, each argument
    ended by a NUL) is run; its output goes to FIFO-DIR/out and FIFO-DIR/err,
    and then its exit status, a line, to the FIFO FIFO-DIR/resp."""
    while True:
        with open(os.path.join(fifo_dir, "req"), "rb") as f:
            data = f.read()
        if not data:
            continue
        with open(os.path.join(fifo_dir, "out"), "wb") as out, \
                open(os.path.join(fifo_dir, "err"), "wb") as err:
            try:
                rc = run([a.decode() for a in data.split(b"\0")[:-1]], out, err)
            except Exception as e:  # an answer, whatever went wrong
                err.write(("cri-client: %r\n" % e).encode())
                rc = 1
        with open(os.path.join(fifo_dir, "resp"), "w") as f:
            f.write("%d\n" % rc)


def main(argv):
    if len(argv) == 3 and argv[1] == "--serve":
        serve(argv[2])
        return 0
    out, err = io.BytesIO(), io.BytesIO()
    rc = run(argv[1:], out, err)
    try:
        sys.stdout.buffer.write(out.getvalue())
        sys.stdout.flush()
    except BrokenPipeError:
        # a reader that took what it wanted (grep -q, head -1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.stderr.buffer.write(err.getvalue())
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
