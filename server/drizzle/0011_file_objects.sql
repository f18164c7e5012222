CREATE TABLE "file_objects" (
	"key" text PRIMARY KEY NOT NULL,
	"oid" "oid" NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "file_objects_key_prefix_idx" ON "file_objects" USING btree ("key" text_pattern_ops);