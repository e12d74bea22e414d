-- name: SearchDocumentUpsert :exec
INSERT INTO search_documents (type, id, shop_id, name, description, category, price_paise, stock, updated_at)
VALUES (@type, @id, @shop_id, @name, @description, @category, @price_paise, @stock, now())
ON CONFLICT (type, id) DO UPDATE SET
    shop_id = excluded.shop_id,
    name = excluded.name,
    description = excluded.description,
    category = excluded.category,
    price_paise = excluded.price_paise,
    stock = excluded.stock,
    updated_at = now();

-- name: SearchDocumentDelete :exec
DELETE FROM search_documents WHERE type = @type AND id = @id;

-- name: SearchDocumentQuery :many
-- Ranked full-text search over one type of document. An empty q matches
-- every document (ordered by name); shop_id '' means any shop. found is the
-- number of matches before the limit.
SELECT id, shop_id, name, price_paise, stock,
       ts_rank(document, websearch_to_tsquery('simple', @q::text))::real AS rank,
       count(*) OVER () AS found
FROM search_documents
WHERE type = @type
  AND (@q::text = '' OR document @@ websearch_to_tsquery('simple', @q::text))
  AND (@shop_id::text = '' OR shop_id = @shop_id::text)
ORDER BY rank DESC, name, id
LIMIT @max_hits::integer;
