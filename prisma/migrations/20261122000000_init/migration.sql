-- CreateEnum
CREATE TYPE "ServiceKind" AS ENUM ('SERVICE', 'POLLER', 'AGENT', 'CHECKER');

-- CreateEnum
CREATE TYPE "ServiceStatus" AS ENUM ('PENDING', 'ACTIVE', 'INACTIVE', 'REVOKED');

-- CreateEnum
CREATE TYPE "HealthStatus" AS ENUM ('UP', 'DEGRADED', 'UNHEALTHY', 'DOWN', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "ServiceSource" AS ENUM ('API', 'MANIFEST', 'CONFIG', 'EDGE_ONBOARDING', 'K8S', 'IMPLICIT');

-- CreateEnum
CREATE TYPE "SnapshotSource" AS ENUM ('PROBE', 'HEARTBEAT', 'MANUAL');

-- CreateEnum
CREATE TYPE "RegistryEventType" AS ENUM ('REGISTERED', 'UPDATED', 'ACTIVATED', 'HEALTH_CHANGED', 'STATUS_CHANGED', 'REACHABILITY_CHANGED', 'MAINTENANCE_CHANGED', 'INSTANCE_REGISTERED', 'INSTANCE_DEREGISTERED', 'DEREGISTERED', 'REVOKED', 'MANIFEST_IMPORTED', 'MANIFEST_ROLLED_BACK', 'NETWORK_CHANGED');

-- CreateEnum
CREATE TYPE "TransitionCause" AS ENUM ('REGISTERED', 'HEARTBEAT_RECEIVED', 'HEARTBEAT_RESUMED', 'TTL_EXPIRED', 'GRACE_EXPIRED', 'STARTUP_GRACE', 'PROBE_PASSED', 'PROBE_FAILED', 'ADMIN_OVERRIDE', 'PARENT_DOWN', 'PARENT_RECOVERED', 'INACTIVITY', 'ARCHIVED', 'AUTO_DEREGISTERED', 'DEREGISTERED', 'MANIFEST_IMPORT', 'EXTERNAL_CHECK');

-- CreateTable
CREATE TABLE "services" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ServiceKind" NOT NULL DEFAULT 'SERVICE',
    "parent_id" UUID,
    "status" "ServiceStatus" NOT NULL DEFAULT 'PENDING',
    "previous_status" "ServiceStatus",
    "status_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "health" "HealthStatus" NOT NULL DEFAULT 'UNKNOWN',
    "previous_health" "HealthStatus",
    "health_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "health_cause" "TransitionCause",
    "reachable" BOOLEAN NOT NULL DEFAULT true,
    "source" "ServiceSource" NOT NULL DEFAULT 'API',
    "version" TEXT,
    "description" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "dependencies" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "module_id" TEXT,
    "protected" BOOLEAN NOT NULL DEFAULT false,
    "in_maintenance" BOOLEAN NOT NULL DEFAULT false,
    "maintenance_reason" TEXT,
    "maintenance_since" TIMESTAMPTZ(3),
    "flapping" BOOLEAN NOT NULL DEFAULT false,
    "flap_count" INTEGER NOT NULL DEFAULT 0,
    "revision" INTEGER NOT NULL DEFAULT 0,
    "snapshot_seq" INTEGER NOT NULL DEFAULT 0,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "first_seen_at" TIMESTAMPTZ(3),
    "last_heartbeat_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_instances" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "service_id" UUID NOT NULL,
    "instance_id" TEXT NOT NULL,
    "version" TEXT,
    "interfaces" JSONB NOT NULL DEFAULT '{}',
    "health" "HealthStatus" NOT NULL DEFAULT 'UNKNOWN',
    "previous_health" "HealthStatus",
    "health_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "health_cause" "TransitionCause",
    "reachable" BOOLEAN NOT NULL DEFAULT true,
    "ttl_seconds" INTEGER NOT NULL DEFAULT 30,
    "deregister_after_seconds" INTEGER,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "host" TEXT,
    "source_ip" TEXT,
    "revision" INTEGER NOT NULL DEFAULT 0,
    "last_heartbeat_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deregistered_at" TIMESTAMPTZ(3),

    CONSTRAINT "service_instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "health_checks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "service_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "interval_seconds" INTEGER NOT NULL DEFAULT 30,
    "timeout_ms" INTEGER NOT NULL DEFAULT 5000,
    "expect_status" INTEGER NOT NULL DEFAULT 200,
    "success_before_passing" INTEGER NOT NULL DEFAULT 1,
    "failures_before_critical" INTEGER NOT NULL DEFAULT 1,
    "consecutive_successes" INTEGER NOT NULL DEFAULT 0,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "status" "HealthStatus" NOT NULL DEFAULT 'UNKNOWN',
    "next_run_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leased_until" TIMESTAMPTZ(3),
    "lease_owner" TEXT,
    "last_run_at" TIMESTAMPTZ(3),

    CONSTRAINT "health_checks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "manifest_imports" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "module_id" TEXT NOT NULL,
    "module_version" TEXT NOT NULL,
    "actor" TEXT,
    "format" TEXT NOT NULL,
    "checksum" TEXT NOT NULL,
    "vars" JSONB NOT NULL DEFAULT '[]',
    "created" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "removed" INTEGER NOT NULL DEFAULT 0,
    "rollback_of_id" UUID,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "manifest_imports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_manifests" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "module_id" TEXT NOT NULL,
    "module_version" TEXT NOT NULL,
    "service_slug" TEXT NOT NULL,
    "service_id" UUID,
    "version" INTEGER NOT NULL,
    "checksum" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "import_id" UUID NOT NULL,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "superseded_at" TIMESTAMPTZ(3),

    CONSTRAINT "service_manifests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_networks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "module_id" TEXT,
    "module_version" TEXT,
    "manifest" JSONB NOT NULL DEFAULT '{}',
    "checksum" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "service_networks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_network_members" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "network_id" UUID NOT NULL,
    "service_slug" TEXT NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "service_network_members_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_health_snapshots" (
    "id" BIGSERIAL NOT NULL,
    "service_id" UUID NOT NULL,
    "instance_id" UUID,
    "status" "HealthStatus" NOT NULL,
    "latency_ms" INTEGER,
    "status_code" INTEGER,
    "message" TEXT,
    "checked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "version" INTEGER NOT NULL,
    "source" "SnapshotSource" NOT NULL,
    "cause" "TransitionCause",
    "metadata" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "service_health_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registry_events" (
    "id" BIGSERIAL NOT NULL,
    "type" "RegistryEventType" NOT NULL,
    "service_id" UUID,
    "service_slug" TEXT,
    "instance_id" TEXT,
    "from_value" TEXT,
    "to_value" TEXT,
    "cause" "TransitionCause",
    "actor" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "revision" INTEGER,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registry_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_leases" (
    "name" TEXT NOT NULL,
    "owner" TEXT,
    "leased_until" TIMESTAMPTZ(3),
    "last_run_at" TIMESTAMPTZ(3),
    "last_result" JSONB,

    CONSTRAINT "job_leases_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "services_slug_key" ON "services"("slug");

-- CreateIndex
CREATE INDEX "services_parent_id_idx" ON "services"("parent_id");

-- CreateIndex
CREATE INDEX "services_kind_status_idx" ON "services"("kind", "status");

-- CreateIndex
CREATE INDEX "services_health_idx" ON "services"("health");

-- CreateIndex
CREATE INDEX "services_source_idx" ON "services"("source");

-- CreateIndex
CREATE INDEX "services_last_heartbeat_at_idx" ON "services"("last_heartbeat_at");

-- CreateIndex
CREATE INDEX "services_tags_idx" ON "services" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "services_dependencies_idx" ON "services" USING GIN ("dependencies");

-- CreateIndex
CREATE INDEX "service_instances_expires_at_idx" ON "service_instances"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "service_instances_service_id_instance_id_key" ON "service_instances"("service_id", "instance_id");

-- CreateIndex
CREATE UNIQUE INDEX "health_checks_service_id_key" ON "health_checks"("service_id");

-- CreateIndex
CREATE INDEX "health_checks_next_run_at_idx" ON "health_checks"("next_run_at");

-- CreateIndex
CREATE INDEX "manifest_imports_module_id_imported_at_idx" ON "manifest_imports"("module_id", "imported_at");

-- CreateIndex
CREATE INDEX "service_manifests_service_slug_superseded_at_idx" ON "service_manifests"("service_slug", "superseded_at");

-- CreateIndex
CREATE INDEX "service_manifests_import_id_idx" ON "service_manifests"("import_id");

-- CreateIndex
CREATE UNIQUE INDEX "service_manifests_module_id_service_slug_version_key" ON "service_manifests"("module_id", "service_slug", "version");

-- CreateIndex
CREATE UNIQUE INDEX "service_networks_slug_key" ON "service_networks"("slug");

-- CreateIndex
CREATE INDEX "service_networks_module_id_idx" ON "service_networks"("module_id");

-- CreateIndex
CREATE INDEX "service_network_members_service_slug_idx" ON "service_network_members"("service_slug");

-- CreateIndex
CREATE UNIQUE INDEX "service_network_members_network_id_service_slug_key" ON "service_network_members"("network_id", "service_slug");

-- CreateIndex
CREATE UNIQUE INDEX "service_network_members_network_id_position_key" ON "service_network_members"("network_id", "position");

-- CreateIndex
CREATE INDEX "service_health_snapshots_service_id_checked_at_idx" ON "service_health_snapshots"("service_id", "checked_at" DESC);

-- CreateIndex
CREATE INDEX "service_health_snapshots_checked_at_idx" ON "service_health_snapshots"("checked_at");

-- CreateIndex
CREATE UNIQUE INDEX "service_health_snapshots_service_id_version_key" ON "service_health_snapshots"("service_id", "version");

-- CreateIndex
CREATE INDEX "registry_events_service_id_id_idx" ON "registry_events"("service_id", "id");

-- CreateIndex
CREATE INDEX "registry_events_service_slug_id_idx" ON "registry_events"("service_slug", "id");

-- CreateIndex
CREATE INDEX "registry_events_type_id_idx" ON "registry_events"("type", "id");

-- CreateIndex
CREATE INDEX "registry_events_at_idx" ON "registry_events"("at");

-- AddForeignKey
ALTER TABLE "services" ADD CONSTRAINT "services_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "services"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_instances" ADD CONSTRAINT "service_instances_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "health_checks" ADD CONSTRAINT "health_checks_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_manifests" ADD CONSTRAINT "service_manifests_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_manifests" ADD CONSTRAINT "service_manifests_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "manifest_imports"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_network_members" ADD CONSTRAINT "service_network_members_network_id_fkey" FOREIGN KEY ("network_id") REFERENCES "service_networks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_health_snapshots" ADD CONSTRAINT "service_health_snapshots_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_health_snapshots" ADD CONSTRAINT "service_health_snapshots_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "service_instances"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registry_events" ADD CONSTRAINT "registry_events_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Hand-written: what the Prisma schema language cannot express.

-- One active manifest row per (module, module version, service); superseded rows stay for audit.
CREATE UNIQUE INDEX "service_manifests_active_key"
    ON "service_manifests"("module_id", "module_version", "service_slug")
    WHERE "superseded_at" IS NULL;

-- Slugs are validated in the API too; the database refuses anything that slips past.
ALTER TABLE "services" ADD CONSTRAINT "services_slug_format"
    CHECK ("slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$');

-- The monitor only scans live instances.
CREATE INDEX "service_instances_live_expires_at_idx"
    ON "service_instances"("expires_at")
    WHERE "deregistered_at" IS NULL;
