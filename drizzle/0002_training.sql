CREATE TABLE "threat_items" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"air_value" integer NOT NULL,
	"pixel_spacing_mm" double precision NOT NULL,
	"source" text NOT NULL,
	"starter_key" text,
	"retired_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "threat_items_starter_key_unique" UNIQUE("starter_key")
);
--> statement-breakpoint
CREATE TABLE "training_answers" (
	"session_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"shown_at" timestamp with time zone NOT NULL,
	"answered_at" timestamp with time zone,
	"decision" text,
	"regions" jsonb,
	"note" text,
	"outcome" text,
	CONSTRAINT "training_answers_session_id_case_id_pk" PRIMARY KEY("session_id","case_id")
);
--> statement-breakpoint
CREATE TABLE "training_cases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"set_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"kind" text NOT NULL,
	"scan_id" uuid NOT NULL,
	"source_scan_id" uuid,
	"threat_item_id" uuid,
	"threat" boolean NOT NULL,
	"categories" text[] NOT NULL,
	"regions" jsonb NOT NULL,
	"status" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"set_id" uuid NOT NULL,
	"trainee_id" uuid NOT NULL,
	"case_order" jsonb NOT NULL,
	"assigned_by" uuid NOT NULL,
	"assigned_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "training_sets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"mode" text NOT NULL,
	"hide_identity" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"failure_message" text,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"ready_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "scans" ADD COLUMN "purpose" text DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "threat_items" ADD CONSTRAINT "threat_items_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_answers" ADD CONSTRAINT "training_answers_session_id_training_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."training_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_answers" ADD CONSTRAINT "training_answers_case_id_training_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."training_cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_cases" ADD CONSTRAINT "training_cases_set_id_training_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."training_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_cases" ADD CONSTRAINT "training_cases_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_cases" ADD CONSTRAINT "training_cases_source_scan_id_scans_id_fk" FOREIGN KEY ("source_scan_id") REFERENCES "public"."scans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_cases" ADD CONSTRAINT "training_cases_threat_item_id_threat_items_id_fk" FOREIGN KEY ("threat_item_id") REFERENCES "public"."threat_items"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_sessions" ADD CONSTRAINT "training_sessions_set_id_training_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."training_sets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_sessions" ADD CONSTRAINT "training_sessions_trainee_id_users_id_fk" FOREIGN KEY ("trainee_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_sessions" ADD CONSTRAINT "training_sessions_assigned_by_users_id_fk" FOREIGN KEY ("assigned_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_sets" ADD CONSTRAINT "training_sets_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "training_cases_set_idx" ON "training_cases" USING btree ("set_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "training_sessions_set_trainee" ON "training_sessions" USING btree ("set_id","trainee_id");--> statement-breakpoint
CREATE INDEX "training_sessions_trainee_idx" ON "training_sessions" USING btree ("trainee_id");--> statement-breakpoint
CREATE INDEX "scans_purpose_status_idx" ON "scans" USING btree ("purpose","status");