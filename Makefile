# Kendari 112 control plane. Run as root on Debian 12/13 (Asterisk runs in a chroot).
# Paths: ASTERISK_ROOT (default /var/cache/ivr112/asterisk-root), IVR_STATE_DIR
# (default /var/lib/ivr112), IVR_CACHE_DIR (default /var/cache/ivr112).

.PHONY: run test demo stop images compose-up compose-down cluster cluster-demo cluster-reload cluster-stop cluster-bench install uninstall deps asterisk sipp-tls prompts unit integration lint diagrams bench screening-eval load soak

run:            ## provision what is missing, start Asterisk + Redis, then supervise the control plane and its watchdog
	bash scripts/run.sh

test: deps asterisk sipp-tls lint  ## every test: unit, then integration on the real stack
	.venv/bin/pytest tests -q

demo:           ## one 112 call: SIPp caller -> greeting -> taker01's SIPp phone; prints the timeline
	bash scripts/demo.sh

stop:           ## stop the control plane, the watchdog, Asterisk and Redis started by `make run`
	bash scripts/stop.sh

images: deps    ## build the container images with podman (bases made with mmdebstrap where no registry answers; IMAGE_BASES=public|local)
	bash scripts/images.sh

compose-up: images  ## the compose stack of docker/ with podman-compose, each stage waited for (secrets in docker/secrets: docker/README.md)
	bash scripts/compose.sh up

compose-down:   ## stop and remove the compose stack's containers (its volumes stay)
	bash scripts/compose.sh down

cluster: deps asterisk prompts  ## the cluster form on one machine: SIP edge (Kamailio), two Asterisk nodes, Redis, an active and a standby control plane
	bash scripts/cluster.sh up

cluster-demo:   ## one call through the edge to each Asterisk node, answered by call takers registered at the edge
	bash scripts/cluster.sh demo

cluster-reload: ## apply a changed centre file to the running cluster (nodes, edge, leading control plane)
	bash scripts/cluster.sh reload

cluster-stop:   ## stop what `make cluster` started
	bash scripts/cluster.sh down

cluster-bench: deps asterisk prompts  ## by hand: failover times over RUNS (5) deaths of a node, of the active control plane and of SIP edge 1; capacity of one node vs two (taskset)
	.venv/bin/python -m benchmarks.cluster_failover --runs $${RUNS:-5}
	.venv/bin/python -m benchmarks.cluster_capacity $${RATES:+--rates $$RATES}

install: deps asterisk prompts  ## provision as `make run` does, then install the systemd units (enabled when systemd runs; DESTDIR= stages them)
	bash scripts/install.sh

uninstall:      ## stop, disable and remove the systemd units (state, secrets, recordings stay)
	bash scripts/uninstall.sh

deps:           ## host packages (Debian) and the Python virtualenv
	bash scripts/host-deps.sh

asterisk: deps  ## build (or reuse) the Debian sid root with Asterisk 22
	bash scripts/asterisk-root.sh

sipp-tls: deps  ## build (or reuse) the Debian sid root with a TLS-capable SIPp, for the tests of the desk phones over TLS
	bash scripts/sipp-tls-root.sh

prompts:        ## synthesise the Indonesian prompts (espeak-ng + sox)
	bash scripts/prompts.sh

unit: deps
	.venv/bin/pytest tests/unit -q

integration: deps asterisk sipp-tls
	.venv/bin/pytest tests/integration -q

lint: deps
	.venv/bin/ruff check ivr tests scripts benchmarks
	.venv/bin/ruff format --check ivr tests scripts benchmarks
	.venv/bin/mypy ivr

diagrams: deps  ## regenerate docs/call-states.md from the transition table
	.venv/bin/python scripts/gen_diagrams.py

load: deps asterisk  ## SIPp load, control plane vs native app_queue in the same run; report under results/ (SCENARIO=steady|surge10|surge|greet, CALLS=, RATE=)
	.venv/bin/python -m benchmarks.load --scenario $${SCENARIO:-steady} $${CALLS:+--calls $$CALLS} $${RATE:+--rate $$RATE}

soak: deps asterisk  ## by hand: steady calls for MINUTES (60) at RATE (0.5/s); growth report under results/
	.venv/bin/python -m benchmarks.soak --minutes $${MINUTES:-60} --rate $${RATE:-0.5}

bench: deps asterisk  ## benchmarks (print figures): ACD decision time; dispatch latency vs native app_queue; screening CPU, load and audio transports
	.venv/bin/python -m benchmarks.acd_core
	.venv/bin/python -m benchmarks.dispatch_latency
	.venv/bin/python -m benchmarks.screening_cpu
	.venv/bin/python -m benchmarks.screening_load
	.venv/bin/python -m benchmarks.screening_transport

screening-eval: deps  ## the held-out screening corpus, evaluated per category; fails if a genuine caller is ranked below normal
	rm -rf results/screening-corpus && .venv/bin/python -m ivr screening corpus results/screening-corpus
	.venv/bin/python -m ivr screening eval results/screening-corpus
