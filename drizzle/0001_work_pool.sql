CREATE TABLE "claims" (
	"id" uuid PRIMARY KEY NOT NULL,
	"scan_id" uuid NOT NULL,
	"analyst_id" uuid NOT NULL,
	"stage" text NOT NULL,
	"claimed_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "outcomes" (
	"scan_id" uuid PRIMARY KEY NOT NULL,
	"station_id" uuid NOT NULL,
	"found" boolean NOT NULL,
	"categories" text[] NOT NULL,
	"note" text NOT NULL,
	"reported_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pool_members" (
	"pool" text NOT NULL,
	"user_id" uuid NOT NULL,
	CONSTRAINT "pool_members_pool_user_id_pk" PRIMARY KEY("pool","user_id")
);
--> statement-breakpoint
CREATE TABLE "pools" (
	"name" text PRIMARY KEY NOT NULL,
	"four_eyes_risk" integer,
	"four_eyes_on_inspect" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"station_id" uuid NOT NULL,
	"scan_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"body" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"acked_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"delivery_attempts" integer DEFAULT 0 NOT NULL,
	"last_delivery_error" text,
	"undelivered_at" timestamp with time zone,
	CONSTRAINT "results_scan_id_unique" UNIQUE("scan_id")
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"scan_id" uuid NOT NULL,
	"claim_id" uuid NOT NULL,
	"analyst_id" uuid NOT NULL,
	"stage" text NOT NULL,
	"decision" text NOT NULL,
	"regions" jsonb NOT NULL,
	"comment" text NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	CONSTRAINT "verdicts_claim_id_unique" UNIQUE("claim_id")
);
--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "risk_score" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "pool" text DEFAULT 'central' NOT NULL;--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "sla_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "decided_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "delivered_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "stations" ADD COLUMN "pool" text DEFAULT 'central' NOT NULL;--> statement-breakpoint
ALTER TABLE "stations" ADD COLUMN "sla_seconds" integer DEFAULT 600 NOT NULL;--> statement-breakpoint
ALTER TABLE "stations" ADD COLUMN "risk_level" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claims" ADD CONSTRAINT "claims_analyst_id_users_id_fk" FOREIGN KEY ("analyst_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outcomes" ADD CONSTRAINT "outcomes_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outcomes" ADD CONSTRAINT "outcomes_station_id_stations_id_fk" FOREIGN KEY ("station_id") REFERENCES "public"."stations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_members" ADD CONSTRAINT "pool_members_pool_pools_name_fk" FOREIGN KEY ("pool") REFERENCES "public"."pools"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_members" ADD CONSTRAINT "pool_members_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_station_id_stations_id_fk" FOREIGN KEY ("station_id") REFERENCES "public"."stations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "results" ADD CONSTRAINT "results_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_claim_id_claims_id_fk" FOREIGN KEY ("claim_id") REFERENCES "public"."claims"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_analyst_id_users_id_fk" FOREIGN KEY ("analyst_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "claims_scan_idx" ON "claims" USING btree ("scan_id");--> statement-breakpoint
CREATE INDEX "claims_open_idx" ON "claims" USING btree ("ended_at");--> statement-breakpoint
CREATE INDEX "results_station_idx" ON "results" USING btree ("station_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "verdicts_scan_stage" ON "verdicts" USING btree ("scan_id","stage");--> statement-breakpoint
CREATE INDEX "scans_pool_status_idx" ON "scans" USING btree ("pool","status");--> statement-breakpoint
INSERT INTO "pools" ("name") VALUES ('central') ON CONFLICT DO NOTHING;
